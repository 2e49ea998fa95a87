// Who may call a gRPC server: operators, with the same credentials and roles as over HTTP (a static
// per-role token or an OIDC JWT), and our own services, with the shared SERVICE_TOKEN (role viewer:
// they only read). Every call carries `authorization: Bearer <token>` in its metadata; anything else
// is UNAUTHENTICATED before a handler runs, and each method needs the role its service's table
// gives it (PERMISSION_DENIED otherwise, and for a method the table lacks). Transport security stays
// with the cluster's mTLS (docs/operations.md).
import {
  InterceptingCall,
  type Interceptor,
  type Metadata,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { z } from 'zod';
import { PermissionDeniedError, UnauthenticatedError, UnavailableError } from './errors.js';
import { grpcError } from './grpc.js';
import type { Logger } from './logger.js';
import { allows, bearerToken, sameSecret, type OperatorAuth, type Role } from './operator-auth.js';

/** Configuration of calls between services; spread into the configShape of a service that serves or makes gRPC calls. */
export const serviceAuthConfigShape = {
  /** Shared secret our services send each other over gRPC (`authorization: Bearer …`); at least 32 characters. */
  SERVICE_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
};

/** Who made a gRPC call. */
export interface GrpcCaller {
  /** `<role>-token` for a static token, the JWT's `sub` for OIDC, `service` for SERVICE_TOKEN. */
  readonly subject: string;
  readonly role: Role;
  readonly via: 'token' | 'oidc' | 'service';
}

/** The role of a call made with SERVICE_TOKEN: services only read each other (communication reads reporting's statuses). */
const SERVICE_ROLE: Role = 'viewer';

/** The role each method of a gRPC service needs. */
export type GrpcRoles<I> = { readonly [K in keyof I & string]: Role };

const callers = new WeakMap<object, GrpcCaller>();

/** The caller a protected gRPC call was authenticated as (undefined outside {@link protectGrpc}). */
export function grpcCallerOf(call: object): GrpcCaller | undefined {
  return callers.get(call);
}

/** Authenticates gRPC calls by their `authorization` metadata. Fails closed when nothing is configured. */
export class GrpcAuth {
  readonly #operators: OperatorAuth;
  readonly #serviceToken: string | undefined;

  constructor(operators: OperatorAuth, serviceToken: string | undefined) {
    this.#operators = operators;
    this.#serviceToken = serviceToken;
  }

  /** The caller; throws an {@link UnauthenticatedError} (message safe to send) or an {@link UnavailableError}. */
  async authenticate(metadata: Metadata): Promise<GrpcCaller> {
    if (this.#serviceToken === undefined && !this.#operators.configured) {
      throw new UnauthenticatedError(
        'gRPC sign-in is not configured (set SERVICE_TOKEN, an OPERATOR_*_TOKEN or OIDC_ISSUER_URL)',
      );
    }
    const values = metadata.get('authorization');
    const token = values.length === 1 && typeof values[0] === 'string' ? bearerToken(values[0]) : undefined;
    if (token === undefined)
      throw new UnauthenticatedError('send "authorization: Bearer <token>" in the call metadata');
    if (this.#serviceToken !== undefined && sameSecret(token, this.#serviceToken)) {
      return { subject: 'service', role: SERVICE_ROLE, via: 'service' };
    }
    if (!this.#operators.configured) throw new UnauthenticatedError('the token is not valid');
    const operator = await this.#operators.verifyToken(token);
    return { subject: operator.subject, role: operator.role, via: operator.via === 'oidc' ? 'oidc' : 'token' };
  }
}

/**
 * The implementation of `definition` with every method behind `auth`: a call without a valid
 * bearer token ends UNAUTHENTICATED (UNAVAILABLE while the OIDC issuer cannot be reached), one whose
 * role is below what `roles` names for the method (or the method is not in `roles`) ends
 * PERMISSION_DENIED, and its handler never runs. Handlers find the caller with {@link grpcCallerOf}.
 */
export function protectGrpc<I extends UntypedServiceImplementation>(
  definition: ServiceDefinition,
  impl: I,
  auth: GrpcAuth,
  logger: Logger,
  roles: GrpcRoles<I>,
): I {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const method = definition[name];
    if (method === undefined) throw new Error(`protectGrpc: ${name} is not a method of the service`);
    const streaming = method.responseStream || method.requestStream;
    const fn = handler as (...args: unknown[]) => void;
    wrapped[name] = ((call: { metadata: Metadata; emit(e: 'error', err: unknown): void }, callback?: unknown) => {
      const refuse = (error: unknown) => {
        if (
          !(error instanceof UnauthenticatedError) &&
          !(error instanceof UnavailableError) &&
          !(error instanceof PermissionDeniedError)
        ) {
          logger.error({ err: error, method: name }, 'gRPC call failed before its handler');
        }
        const refused = grpcError(error);
        if (streaming || typeof callback !== 'function') call.emit('error', refused);
        else (callback as (e: unknown, r: null) => void)(refused, null);
      };
      auth.authenticate(call.metadata).then((caller) => {
        const need = Object.hasOwn(roles, name) ? (roles as Record<string, Role>)[name] : undefined;
        if (need === undefined) return refuse(new PermissionDeniedError(`${name} is not open to any role`));
        if (!allows(caller.role, need)) {
          return refuse(
            new PermissionDeniedError(`${name} needs the ${need} role; you are signed in as ${caller.role}`),
          );
        }
        callers.set(call, caller);
        try {
          fn(call, callback);
        } catch (error) {
          refuse(error); // a handler that throws before it answers still ends the call
        }
      }, refuse);
    }) as UntypedServiceImplementation[string];
  }
  return wrapped as I;
}

/** A client interceptor that sends `authorization: Bearer <token>` with every call. */
export function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
