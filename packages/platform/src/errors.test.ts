import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  ConfigError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
} from './errors.js';
import { grpcError } from './grpc.js';
import { httpError } from './http.js';

const cases = [
  { error: new InvalidArgumentError('bad input'), http: 400, grpc: status.INVALID_ARGUMENT, code: 'invalid_argument' },
  { error: new NotFoundError('no such thing'), http: 404, grpc: status.NOT_FOUND, code: 'not_found' },
  {
    error: new FailedPreconditionError('already sent'),
    http: 409,
    grpc: status.FAILED_PRECONDITION,
    code: 'failed_precondition',
  },
  {
    error: new UnauthenticatedError('bad signature'),
    http: 401,
    grpc: status.UNAUTHENTICATED,
    code: 'unauthenticated',
  },
  { error: new UnavailableError('store down'), http: 503, grpc: status.UNAVAILABLE, code: 'unavailable' },
  {
    error: new AppError('payload_too_large', 'too big'),
    http: 413,
    grpc: status.RESOURCE_EXHAUSTED,
    code: 'payload_too_large',
  },
  { error: new AppError('internal', 'broken'), http: 500, grpc: status.INTERNAL, code: 'internal' },
] as const;

describe('httpError', () => {
  it.each(cases)('maps $code to HTTP $http', ({ error, http, code }) => {
    expect(httpError(error)).toEqual({ status: http, body: { error: code, message: error.message } });
  });

  it('includes validation details', () => {
    expect(httpError(new InvalidArgumentError('invalid request', ['to: is required']))).toEqual({
      status: 400,
      body: { error: 'invalid_argument', message: 'invalid request', details: ['to: is required'] },
    });
  });

  it('maps a ConfigError to 500 config_invalid', () => {
    expect(httpError(new ConfigError(['X: is required'])).status).toBe(500);
  });

  it('maps framework 4xx errors by status', () => {
    const framework = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
    expect(httpError(framework(413, 'Request body is too large'))).toEqual({
      status: 413,
      body: { error: 'payload_too_large', message: 'Request body is too large' },
    });
    expect(httpError(framework(404, 'Route not found')).body.error).toBe('not_found');
    expect(httpError(framework(401, 'no')).body.error).toBe('unauthenticated');
    expect(httpError(framework(415, 'Unsupported Media Type'))).toEqual({
      status: 415,
      body: { error: 'invalid_argument', message: 'Unsupported Media Type' },
    });
  });

  it.each([
    ['an Error', new Error('secret internals: mongodb://admin:pw@db')],
    ['a 5xx framework error', Object.assign(new Error('secret internals'), { statusCode: 502 })],
    ['a string', 'secret internals'],
    ['undefined', undefined],
    ['null', null],
  ])('hides the internals of %s', (_label, error) => {
    const mapped = httpError(error);
    expect(mapped).toEqual({ status: 500, body: { error: 'internal', message: 'internal error' } });
    expect(JSON.stringify(mapped)).not.toContain('secret');
  });

  it('answers UNAVAILABLE (try again) for a store or NATS outage, without its internals', () => {
    const timeout = Object.assign(new Error('connection 4 to 10.0.0.7:27017 timed out'), {
      name: 'MongoNetworkTimeoutError',
    });
    const mapped = grpcError(timeout);
    expect(mapped.code).toBe(status.UNAVAILABLE);
    expect(mapped.details).toBe('a dependency of this service is unavailable or slow; try again');
  });
});

describe('grpcError', () => {
  it.each(cases)('maps $code to gRPC status $grpc', ({ error, grpc }) => {
    expect(grpcError(error)).toEqual({ code: grpc, details: error.message, message: error.message });
  });

  it('appends validation details', () => {
    const mapped = grpcError(new InvalidArgumentError('invalid request', ['to: is required', 'channel: unknown']));
    expect(mapped.code).toBe(status.INVALID_ARGUMENT);
    expect(mapped.details).toBe('invalid request: to: is required; channel: unknown');
  });

  it.each([
    ['an Error', new Error('secret internals')],
    ['a string', 'secret internals'],
    ['undefined', undefined],
  ])('hides the internals of %s', (_label, error) => {
    const mapped = grpcError(error);
    expect(mapped).toEqual({ code: status.INTERNAL, details: 'internal error', message: 'internal error' });
    expect(JSON.stringify(mapped)).not.toContain('secret');
  });

  it('answers UNAVAILABLE (try again) for a store or NATS outage, without its internals', () => {
    const timeout = Object.assign(new Error('connection 4 to 10.0.0.7:27017 timed out'), {
      name: 'MongoNetworkTimeoutError',
    });
    const mapped = grpcError(timeout);
    expect(mapped.code).toBe(status.UNAVAILABLE);
    expect(mapped.details).toBe('a dependency of this service is unavailable or slow; try again');
  });
});
