// Rendering the chart and the shapes of the rendered objects that the tests read.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { runHelm, type HelmRun } from './helm.js';

/** The chart under test. */
export const CHART_DIR = path.resolve(import.meta.dirname, '../../helm/delivery-reporting');
/** Release name and namespace used for every render. */
export const RELEASE = 'dlr';
export const NAMESPACE = 'messaging';
/** The five services, as named in values.yaml `services:`. */
export const SERVICES = ['communication', 'dispatch', 'provider-callback', 'feedback-link', 'reporting'] as const;
/** Variables that hold secrets: they may only come from a Secret, never from a ConfigMap or a literal. */
export const SECRET_VARS = [
  'MONGODB_URI',
  'NATS_URL',
  'LINK_SIGNING_KEYS',
  'SIMULATOR_API_KEY',
  'SIMULATOR_WEBHOOK_SECRET',
  'OPERATOR_TOKEN',
  'OPERATOR_SESSION_SECRET',
  'SERVICE_TOKEN',
  'SES_ACCESS_KEY_ID',
  'SES_SECRET_ACCESS_KEY',
  'SENDGRID_API_KEY',
  'MAILGUN_API_KEY',
  'MAILGUN_WEBHOOK_SIGNING_KEY',
  'SMTP_PASSWORD',
  'TWILIO_AUTH_TOKEN',
] as const;

export type Labels = Record<string, string>;

export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

export interface Probe {
  httpGet?: { path?: string; port?: number | string };
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext & { runAsGroup?: number };
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: { name: string; emptyDir?: object; configMap?: object; secret?: object }[];
}

export interface LabelSelector {
  matchLabels?: Labels;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}

export interface NetworkPolicyPort {
  port?: number | string;
  protocol?: string;
}

/** One rendered object; `spec` and `data` are read through the narrower types above where needed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** Values of a scenario file (only what the tests look at). */
export interface ScenarioValues {
  services?: Partial<Record<(typeof SERVICES)[number], { enabled?: boolean }>>;
  networkPolicy?: { enabled?: boolean; ingressController?: NetworkPolicyPeer[] };
  ingress?: { enabled?: boolean; edges?: Record<string, { enabled?: boolean }> };
  httpRoute?: { enabled?: boolean };
  simulator?: { enabled?: boolean };
  providers?: { simulator?: { url?: string } };
  metrics?: {
    monitoringNamespace?: string;
    scraperPodLabels?: Labels;
    serviceMonitor?: { enabled?: boolean };
    prometheusRule?: { enabled?: boolean };
  };
  global?: { imageRegistry?: string };
  migrate?: { enabled?: boolean };
  tests?: { enabled?: boolean };
  default?: { autoscaling?: { enabled?: boolean }; pdb?: { enabled?: boolean } };
}

export function readScenario(file: string): ScenarioValues {
  return (parse(readFileSync(file, 'utf8')) ?? {}) as ScenarioValues;
}

/** The chart's own values.yaml. */
export function chartDefaults(): ScenarioValues {
  return readScenario(path.join(CHART_DIR, 'values.yaml'));
}

/** `helm template` output, parsed. Throws when helm fails or a document is not valid YAML. */
export function renderChart(helm: string, home: string, valuesFile: string, chartDir = CHART_DIR): K8sObject[] {
  const r = template(helm, home, valuesFile, chartDir);
  if (r.status !== 0) throw new Error(`helm template failed (exit ${r.status}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

export function template(helm: string, home: string, valuesFile: string, chartDir = CHART_DIR): HelmRun {
  return runHelm(helm, ['template', RELEASE, chartDir, '--namespace', NAMESPACE, '-f', valuesFile], home);
}

/** `helm template` with the arguments of an install command (release, chart, namespace, -f files) as given. */
export function templateArgs(helm: string, home: string, args: string[]): K8sObject[] {
  const r = runHelm(helm, ['template', ...args], home);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

export function lint(helm: string, home: string, valuesFile: string, chartDir = CHART_DIR): HelmRun {
  return runHelm(helm, ['lint', chartDir, '--strict', '--namespace', NAMESPACE, '-f', valuesFile], home);
}

export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

/** Every pod spec in the objects: Deployments' and Jobs' templates, and bare Pods. */
export function podSpecs(objects: K8sObject[]): { owner: K8sObject; spec: PodSpec }[] {
  const out: { owner: K8sObject; spec: PodSpec }[] = [];
  for (const o of objects) {
    if (o.kind === 'Pod') out.push({ owner: o, spec: o.spec as unknown as PodSpec });
    if (o.kind === 'Deployment' || o.kind === 'Job') {
      const template = o.spec?.['template'] as { spec: PodSpec; metadata?: Metadata } | undefined;
      if (template) out.push({ owner: o, spec: template.spec });
    }
  }
  return out;
}

/** Labels of the pods an object creates (its pod template's), or of a bare Pod. */
export function podLabels(o: K8sObject): Labels {
  if (o.kind === 'Pod') return o.metadata.labels ?? {};
  const template = o.spec?.['template'] as { metadata?: Metadata } | undefined;
  return template?.metadata?.labels ?? {};
}

/** True when every label of the selector is on the object. */
export function selects(selector: Labels | undefined, labels: Labels): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** Object name of a component in a render with the default naming. */
export function componentName(component: string): string {
  return `${RELEASE}-delivery-reporting-${component}`;
}
