// Validates rendered objects against the Kubernetes API schemas that the `kubernetes-models` package ships
// (its ajv-compiled OpenAPI definitions: types, required fields, enums, formats), plus what those schemas
// leave out: unknown fields. The API server, with strict field validation, rejects a field it does not
// know; the compiled schemas accept one silently, so a misspelt optional field (`readinesProbe`) would pass.
import { validate as configMap } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap';
import { validate as pod } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Pod';
import { validate as service } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { validate as serviceAccount } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount';
import { validate as deployment } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment';
import { validate as job } from 'kubernetes-models/_schemas/IoK8sApiBatchV1Job';
import { validate as hpa } from 'kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscaler';
import { validate as ingress } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1Ingress';
import { validate as networkPolicy } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy';
import { validate as pdb } from 'kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget';

/** An ajv error, as the compiled validators leave it on `validate.errors`. */
interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

type CompiledValidate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

/** The kinds the chart may render, by `apiVersion/kind`. Any other kind is an error (add it here on purpose). */
const VALIDATORS: Record<string, CompiledValidate> = {
  'v1/ConfigMap': configMap,
  'v1/Pod': pod,
  'v1/Service': service,
  'v1/ServiceAccount': serviceAccount,
  'apps/v1/Deployment': deployment,
  'batch/v1/Job': job,
  'autoscaling/v2/HorizontalPodAutoscaler': hpa,
  'networking.k8s.io/v1/Ingress': ingress,
  'networking.k8s.io/v1/NetworkPolicy': networkPolicy,
  'policy/v1/PodDisruptionBudget': pdb,
};

/** The `apiVersion/kind` pairs {@link validateObject} knows. */
export const KNOWN_KINDS: readonly string[] = Object.keys(VALIDATORS);

/**
 * Checks one object against the schema of its apiVersion/kind. Returns one line per problem (empty when valid):
 * schema errors (`/spec/replicas: must be integer`) and unknown fields (`/spec/template/.../readinesProbe:
 * unknown field`).
 */
export function validateObject(obj: unknown): string[] {
  if (!isRecord(obj)) return ['the document is not an object'];
  const gvk = `${String(obj['apiVersion'])}/${String(obj['kind'])}`;
  const validate = VALIDATORS[gvk];
  if (!validate) return [`${gvk}: no schema for this kind (known: ${KNOWN_KINDS.join(', ')})`];

  // The compiled validator reads exactly the properties its schema declares (and every key of a map-typed
  // property such as labels). Recording the reads tells which keys the schema knows; the rest are unknown.
  const read = new Map<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const watch = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const cached = proxies.get(value);
    if (cached) return cached;
    const keys = new Set<string>();
    read.set(value, keys);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === 'string') keys.add(key);
        return watch(Reflect.get(target, key, receiver));
      },
      ownKeys(target) {
        // Enumerating an object (a map such as labels) reads all of its keys.
        for (const key of Reflect.ownKeys(target)) if (typeof key === 'string') keys.add(key);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };

  const problems: string[] = [];
  if (!validate(watch(obj))) {
    for (const e of validate.errors ?? []) problems.push(`${e.instancePath || '/'}: ${describe(e)}`);
  }
  const walk = (value: unknown, at: string): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${at}/${i}`));
      return;
    }
    const known = read.get(value);
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const path = `${at}/${key}`;
      if (!known?.has(key)) problems.push(`${path}: unknown field`);
      else walk(child, path);
    }
  };
  walk(obj, '');
  return problems;
}

function describe(e: AjvError): string {
  switch (e.keyword) {
    case 'required':
      return `missing required field ${String(e.params['missingProperty'])}`;
    case 'enum':
      return `must be one of ${JSON.stringify(e.params['allowedValues'])}`;
    case 'type':
      return `must be ${String(e.params['type'])}`;
    default:
      return e.message ?? `${e.keyword} ${JSON.stringify(e.params)}`;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
