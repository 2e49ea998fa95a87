// The Helm chart, checked without a cluster: `helm lint --strict` and `helm template` for every
// ci/*-values.yaml scenario, every rendered object validated against the Kubernetes API schemas, and the
// properties a platform team relies on (Pod Security "restricted", secrets only from Secrets, probes,
// network policies, objects that reference each other correctly). Helm is built with `go install`.
import { readdirSync, readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHART_DIR,
  NAMESPACE,
  RELEASE,
  SECRET_VARS,
  SERVICES,
  chartDefaults,
  componentName,
  lint,
  named,
  podLabels,
  podSpecs,
  readScenario,
  renderChart,
  selects,
  template,
  templateArgs,
  type Container,
  type K8sObject,
  type Labels,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type PodSpec,
} from './chart.js';
import { ensureHelm, HELM_VERSION } from './helm.js';
import { validateObject } from './k8s-schema.js';

const CI_DIR = path.join(CHART_DIR, 'ci');
const SCENARIOS = readdirSync(CI_DIR)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

let helm = '';
let home = '';

beforeAll(async () => {
  const t0 = Date.now();
  const bin = await ensureHelm();
  helm = bin.path;
  home = await fsp.mkdtemp(path.join(os.tmpdir(), 'dlr-chart-test-'));
  const how = bin.builtInMs === undefined ? 'cached' : `built in ${(bin.builtInMs / 1000).toFixed(1)} s`;
  process.stderr.write(`[chart] helm ${HELM_VERSION} ${how} (${bin.path}), ready after ${Date.now() - t0} ms\n`);
}, 1_200_000);

afterAll(async () => {
  if (home) await fsp.rm(home, { recursive: true, force: true });
});

it('has the scenarios the chart promises', () => {
  expect(SCENARIOS).toEqual(
    expect.arrayContaining(['minimal-values.yaml', 'production-values.yaml', 'disabled-values.yaml']),
  );
});

describe.each(SCENARIOS)('scenario ci/%s', (file) => {
  const valuesFile = path.join(CI_DIR, file);
  const values = readScenario(valuesFile);
  const enabled = SERVICES.filter((s) => values.services?.[s]?.enabled !== false);
  const policiesOn = values.networkPolicy?.enabled !== false;
  const simulatorOn = values.simulator?.enabled === true;
  // The chart's own simulator or one outside it (providers.simulator.url): dispatch and provider-callback talk to it.
  const simulatorUsed = simulatorOn || Boolean(values.providers?.simulator?.url);
  const edgesExposed = values.ingress?.enabled === true || values.httpRoute?.enabled === true;
  const consoleExposed = edgesExposed && values.ingress?.edges?.['console']?.enabled === true;
  const workloads = [...enabled, ...(simulatorOn ? ['provider-simulator'] : [])];
  let objects: K8sObject[] = [];

  beforeAll(() => {
    objects = renderChart(helm, home, valuesFile);
  });

  it('passes helm lint --strict', () => {
    const r = lint(helm, home, valuesFile);
    expect(r.stdout + r.stderr, 'helm lint output').toContain('0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders objects that all validate against the Kubernetes API schemas', () => {
    expect(objects.length).toBeGreaterThan(0);
    const problems = objects.flatMap((o) =>
      validateObject(o).map((p) => `${o.kind}/${o.metadata?.name ?? '?'}${p.startsWith('/') ? ' ' : ': '}${p}`),
    );
    expect(problems).toEqual([]);
    // Names are unique per kind, and the chart creates no Secret.
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('renders a Deployment, Service, ConfigMap per enabled service (and the simulator when on), nothing for a disabled one', () => {
    for (const kind of ['Deployment', 'Service']) {
      const names = objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
      expect(names.sort(), kind).toEqual(workloads.map(componentName).sort());
    }
    const configMaps = objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name);
    expect(configMaps.sort()).toEqual(enabled.map(componentName).sort());
  });

  it('runs every container non-root, read-only, without privileges or capabilities, under seccomp RuntimeDefault', () => {
    const specs = podSpecs(objects);
    expect(specs.length).toBeGreaterThanOrEqual(enabled.length);
    for (const { owner, spec } of specs) {
      const where = `${owner.kind}/${owner.metadata.name}`;
      const pod = spec.securityContext ?? {};
      expect(pod.runAsNonRoot, `${where} pod runAsNonRoot`).toBe(true);
      expect(pod.runAsUser ?? 1, `${where} pod runAsUser`).not.toBe(0);
      expect(pod.seccompProfile?.type, `${where} pod seccomp`).toBe('RuntimeDefault');
      expect(spec.automountServiceAccountToken, `${where} automountServiceAccountToken`).toBe(false);
      expect(spec.hostNetwork || spec.hostPID || spec.hostIPC || false, `${where} host namespaces`).toBe(false);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const at = `${where} container ${c.name}`;
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot ?? pod.runAsNonRoot, `${at} runAsNonRoot`).toBe(true);
        expect(sc.runAsUser ?? 1, `${at} runAsUser`).not.toBe(0);
        expect(sc.readOnlyRootFilesystem, `${at} readOnlyRootFilesystem`).toBe(true);
        expect(sc.allowPrivilegeEscalation, `${at} allowPrivilegeEscalation`).toBe(false);
        expect(sc.privileged ?? false, `${at} privileged`).toBe(false);
        expect(sc.capabilities?.drop, `${at} capabilities.drop`).toContain('ALL');
        expect(sc.capabilities?.add ?? [], `${at} capabilities.add`).toEqual([]);
        expect(sc.seccompProfile?.type ?? pod.seccompProfile?.type, `${at} seccomp`).toBe('RuntimeDefault');
        expect(tmpIsEmptyDir(spec, c), `${at} writable /tmp from an emptyDir`).toBe(true);
        expect(c.resources?.requests?.['cpu'], `${at} cpu request`).toBeDefined();
        expect(c.resources?.requests?.['memory'], `${at} memory request`).toBeDefined();
        expect(c.resources?.limits?.['memory'], `${at} memory limit`).toBeDefined();
        expect(c.image, `${at} image pinned by tag or digest`).toMatch(/(:[\w.-]+|@sha256:[a-f0-9]{64})$/);
        expect(c.image, `${at} image`).not.toMatch(/:latest$/);
      }
    }
  });

  it('keeps secrets out of ConfigMaps and reads every secret variable from an existing Secret', () => {
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
      for (const [key, value] of Object.entries(cm.data ?? {})) {
        expect(SECRET_VARS as readonly string[], `ConfigMap ${cm.metadata.name} key ${key}`).not.toContain(key);
        expect(key, `ConfigMap ${cm.metadata.name} key`).not.toMatch(/SECRET|PASSWORD|TOKEN|API_KEY|SIGNING_KEY/);
        // No credentials in a URL (scheme://user:password@host).
        expect(value, `ConfigMap ${cm.metadata.name} ${key}`).not.toMatch(/:\/\/[^/\s:@]+:[^/\s@]+@/);
      }
    }
    for (const { owner, spec } of podSpecs(objects)) {
      for (const c of spec.containers) {
        for (const e of c.env ?? []) {
          if (!(SECRET_VARS as readonly string[]).includes(e.name)) continue;
          const at = `${owner.kind}/${owner.metadata.name} ${c.name} ${e.name}`;
          expect(e.value, `${at} has a literal value`).toBeUndefined();
          expect(e.valueFrom?.secretKeyRef?.name, `${at} secretKeyRef.name`).toBeTruthy();
          expect(e.valueFrom?.secretKeyRef?.key, `${at} secretKeyRef.key`).toBeTruthy();
        }
      }
    }
    // The simulator's secrets go to dispatch and provider-callback only with a simulator.
    const simulatorVars = (vars: string[]) => (simulatorUsed ? vars : []);
    const needs: Record<(typeof SERVICES)[number], string[]> = {
      communication: ['MONGODB_URI', 'NATS_URL', 'OPERATOR_TOKEN', 'SERVICE_TOKEN'],
      dispatch: ['MONGODB_URI', 'NATS_URL', 'LINK_SIGNING_KEYS', ...simulatorVars(['SIMULATOR_API_KEY'])],
      'provider-callback': ['MONGODB_URI', 'NATS_URL', ...simulatorVars(['SIMULATOR_WEBHOOK_SECRET'])],
      'feedback-link': ['MONGODB_URI', 'NATS_URL', 'LINK_SIGNING_KEYS'],
      reporting: ['MONGODB_URI', 'NATS_URL', 'OPERATOR_TOKEN', 'SERVICE_TOKEN'],
    };
    for (const svc of enabled) {
      const c = serviceContainer(objects, svc);
      const fromSecrets = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
      expect(fromSecrets.sort(), `${svc} secret variables`).toEqual(expect.arrayContaining(needs[svc]));
      if (!simulatorUsed) expect(fromSecrets, `${svc} without the simulator`).not.toContain('SIMULATOR_API_KEY');
      if (!simulatorUsed) expect(fromSecrets, `${svc} without the simulator`).not.toContain('SIMULATOR_WEBHOOK_SECRET');
      // Its ConfigMap exists and holds the non-secret configuration the service needs to listen.
      const cmName = c.envFrom?.[0]?.configMapRef?.name ?? '';
      const cm = named(objects, 'ConfigMap', cmName);
      expect(cm, `${svc} ConfigMap ${cmName}`).toBeDefined();
      expect(cm?.data).toMatchObject({ HOST: '0.0.0.0', HTTP_PORT: '8080', ADMIN_PORT: '9464', SERVICE_NAME: svc });
    }
  });

  it('probes every service on its admin port: liveness on /healthz, readiness on /readyz', () => {
    for (const svc of enabled) {
      const c = serviceContainer(objects, svc);
      const http = c.ports?.find((p) => p.name === 'http');
      expect(http?.containerPort, `${svc} http port`).toBe(8080);
      expect(c.ports?.find((p) => p.name === 'admin')?.containerPort, `${svc} admin port`).toBe(9464);
      expect(c.livenessProbe?.httpGet, `${svc} liveness`).toEqual({ path: '/healthz', port: 'admin' });
      expect(c.readinessProbe?.httpGet, `${svc} readiness`).toEqual({ path: '/readyz', port: 'admin' });
      expect(c.startupProbe?.httpGet, `${svc} startup`).toEqual({ path: '/healthz', port: 'admin' });
      const grpc = c.ports?.find((p) => p.name === 'grpc')?.containerPort;
      expect(grpc, `${svc} grpc port`).toBe({ communication: 50051, reporting: 50052 }[svc as string]);
    }
  });

  it('wires Services, PDBs, HPAs, ServiceAccounts and Ingresses to objects that exist', () => {
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      const spec = svc.spec as { selector: Labels; ports: { name: string; targetPort: string }[] };
      const targets = deployments.filter((d) => selects(spec.selector, podLabels(d)));
      expect(
        targets.map((d) => d.metadata.name),
        `Service ${svc.metadata.name} selects`,
      ).toEqual([svc.metadata.name]);
      const containerPorts = (targets[0]!.spec as { template: { spec: PodSpec } }).template.spec.containers[0]!.ports;
      for (const p of spec.ports) {
        expect(
          containerPorts?.map((cp) => cp.name),
          `Service ${svc.metadata.name} port ${p.name}`,
        ).toContain(p.targetPort);
      }
    }
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      const selector = (pdb.spec as { selector: { matchLabels: Labels } }).selector.matchLabels;
      expect(deployments.filter((d) => selects(selector, podLabels(d))).length, `PDB ${pdb.metadata.name}`).toBe(1);
    }
    for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
      const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      const target = named(objects, ref.kind, ref.name);
      expect(target, `HPA ${hpa.metadata.name} target`).toBeDefined();
      // With an HPA the Deployment leaves replicas to it (else every upgrade would reset the count).
      expect(target?.spec?.['replicas'], `${ref.name} replicas with an HPA`).toBeUndefined();
    }
    for (const { owner, spec } of podSpecs(deployments)) {
      const sa = spec.serviceAccountName ?? 'default';
      if (sa !== 'default') expect(named(objects, 'ServiceAccount', sa), `${owner.metadata.name} SA`).toBeDefined();
    }
    for (const route of objects.filter((o) => o.kind === 'HTTPRoute')) {
      const spec = route.spec as { rules: { backendRefs: { name: string; port: number }[] }[] };
      for (const ref of spec.rules.flatMap((r) => r.backendRefs)) {
        const target = named(objects, 'Service', ref.name);
        expect(target, `HTTPRoute ${route.metadata.name} backend`).toBeDefined();
        const ports = (target?.spec as { ports: { name: string; port: number }[] }).ports;
        // The service's http port: never the admin port.
        expect(ports.find((p) => p.port === ref.port)?.name, `HTTPRoute ${route.metadata.name} port`).toBe('http');
      }
    }
    for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
      const spec = ing.spec as {
        rules: {
          host: string;
          http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] };
        }[];
        tls?: { hosts: string[]; secretName: string }[];
      };
      for (const rule of spec.rules) {
        for (const p of rule.http.paths) {
          const target = named(objects, 'Service', p.backend.service.name);
          expect(target, `Ingress ${ing.metadata.name} backend`).toBeDefined();
          const ports = (target?.spec as { ports: { name: string }[] } | undefined)?.ports.map((x) => x.name);
          expect(ports, `Ingress ${ing.metadata.name} port`).toContain(p.backend.service.port.name);
          expect(p.backend.service.port.name, `Ingress ${ing.metadata.name} routes http only`).toBe('http');
        }
        for (const t of spec.tls ?? []) expect(t.hosts).toContain(rule.host);
      }
    }
  });

  it('runs the migration as a pre-install/pre-upgrade hook and tests each /readyz with helm test', () => {
    const jobs = objects.filter((o) => o.kind === 'Job');
    if (values.migrate?.enabled === false) expect(jobs).toEqual([]);
    else {
      expect(jobs.map((j) => j.metadata.name)).toEqual([componentName('migrate')]);
      const hooks = jobs[0]!.metadata.annotations?.['helm.sh/hook']?.split(',');
      expect(hooks).toEqual(expect.arrayContaining(['pre-install', 'pre-upgrade']));
      // One container per enabled service: its own image, `main.js migrate`.
      const containers = podSpecs(jobs)[0]!.spec.containers;
      expect(containers.map((c) => c.name).sort()).toEqual([...enabled].sort());
      for (const c of containers) {
        expect(c.args).toEqual([`services/${c.name}/dist/main.js`, 'migrate']);
        expect(c.image).toBe(serviceContainer(objects, c.name).image);
      }
    }
    const pods = objects.filter((o) => o.kind === 'Pod');
    if (values.tests?.enabled === false) expect(pods).toEqual([]);
    else {
      expect(pods).toHaveLength(1);
      expect(pods[0]!.metadata.annotations?.['helm.sh/hook']).toBe('test');
      const urls = (pods[0]!.spec as unknown as PodSpec).containers.map((c) => c.args?.at(-1));
      expect(urls.sort()).toEqual(enabled.map((s) => `http://${componentName(s)}:9464/readyz`).sort());
    }
  });

  it(policiesOn ? 'denies by default and opens only what each service needs' : 'renders no NetworkPolicy', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    if (!policiesOn) {
      expect(policies).toEqual([]);
      return;
    }
    type Rule = { from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] };
    type Spec = { podSelector: { matchLabels?: Labels }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
    const spec = (o: K8sObject): Spec => o.spec as unknown as Spec;

    const release = { 'app.kubernetes.io/name': 'delivery-reporting', 'app.kubernetes.io/instance': RELEASE };
    const denyAll = policies.filter(
      (p) =>
        spec(p).policyTypes.includes('Ingress') &&
        spec(p).policyTypes.includes('Egress') &&
        !spec(p).ingress?.length &&
        !spec(p).egress?.length,
    );
    expect(denyAll.map((p) => spec(p).podSelector.matchLabels)).toContainEqual(release);
    // Every pod of the release (services, migration job, test pod) falls under that default deny.
    for (const o of objects.filter((x) => ['Deployment', 'Job', 'Pod'].includes(x.kind))) {
      expect(podLabels(o), `${o.kind}/${o.metadata.name} labels`).toMatchObject(release);
    }

    const policyOf = (svc: string): Spec => {
      const p = named(policies, 'NetworkPolicy', componentName(svc));
      expect(p, `policy of ${svc}`).toBeDefined();
      const pods = podLabels(named(objects, 'Deployment', componentName(svc))!);
      expect(selects(spec(p!).podSelector.matchLabels, pods), `policy of ${svc} selects its pods`).toBe(true);
      return spec(p!);
    };
    const portsOf = (rules: Rule[] | undefined): (string | number | undefined)[] =>
      (rules ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));
    // The ingress controller's peers: the scenario's, else the chart's default.
    const controller = values.networkPolicy?.ingressController ?? chartDefaults().networkPolicy?.ingressController;
    expect(controller?.length, 'ingress controller peers').toBeTruthy();
    const fromIngressController = (s: Spec): boolean =>
      (s.ingress ?? []).some((r) => isDeepStrictEqual(r.from, controller) && r.ports?.some((p) => p.port === 'http'));

    for (const svc of enabled) {
      const s = policyOf(svc);
      expect(s.policyTypes).toEqual(['Ingress', 'Egress']);
      const egressPorts = portsOf(s.egress);
      expect(egressPorts, `${svc} egress DNS`).toContain(53);
      expect(egressPorts, `${svc} egress NATS`).toContain(4222);
      expect(egressPorts, `${svc} egress MongoDB`).toContain(27017);
      // Every rule names its ports: nothing is open on every port.
      for (const r of [...(s.ingress ?? []), ...(s.egress ?? [])]) expect(r.ports?.length, `${svc} rule`).toBeTruthy();
      // Only the public edges, the reports UI and an exposed console are reachable from the ingress controller.
      expect(fromIngressController(s), `${svc} from the ingress controller`).toBe(
        ['provider-callback', 'feedback-link', 'reporting'].includes(svc) ||
          (svc === 'communication' && consoleExposed),
      );
      // The admin port (/metrics, /readyz): from the monitoring namespace's pods, and the helm test pod only.
      const adminRules = (s.ingress ?? []).filter((r) => r.ports?.some((p) => p.port === 'admin'));
      expect(
        adminRules.every((r) => r.ports?.length === 1),
        `${svc} admin rules open the admin port only`,
      ).toBe(true);
      const monitoringPeer = {
        namespaceSelector: {
          matchLabels: { 'kubernetes.io/metadata.name': values.metrics?.monitoringNamespace ?? 'monitoring' },
        },
        ...(values.metrics?.scraperPodLabels ? { podSelector: { matchLabels: values.metrics.scraperPodLabels } } : {}),
      };
      const testPeer = { podSelector: { matchLabels: { ...release, 'app.kubernetes.io/component': 'test' } } };
      expect(adminRules.map((r) => r.from)).toEqual([
        [monitoringPeer],
        ...(values.tests?.enabled === false ? [] : [[testPeer]]),
      ]);
      // Only communication and reporting accept gRPC; only dispatch talks HTTPS to the providers.
      expect(portsOf(s.ingress).includes('grpc'), `${svc} gRPC ingress`).toBe(
        ['communication', 'reporting'].includes(svc),
      );
      if (svc === 'dispatch') {
        const toProviders = egressPorts.filter((p) => p !== 53 && p !== 4222 && p !== 27017);
        expect(toProviders.length, 'dispatch egress to the providers').toBeGreaterThan(0);
      } else {
        expect(egressPorts, `${svc} HTTPS egress`).not.toContain(443);
      }
    }
  });
});

describe('NOTES.txt', () => {
  // helm template does not print NOTES.txt; a copy of the chart renders it through `tpl` into a YAML string.
  let chart = '';

  beforeAll(async () => {
    chart = path.join(home, 'notes-chart');
    await fsp.cp(CHART_DIR, chart, { recursive: true });
    await fsp.copyFile(path.join(chart, 'templates', 'NOTES.txt'), path.join(chart, 'notes.tpl'));
    await fsp.writeFile(
      path.join(chart, 'templates', 'render-notes.yaml'),
      'notes: {{ tpl (.Files.Get "notes.tpl") . | toJson }}\n',
    );
  });

  it.each(SCENARIOS)('renders for ci/%s: every service, every Secret it needs, what is off', (file) => {
    const values = readScenario(path.join(CI_DIR, file));
    const doc = renderChart(helm, home, path.join(CI_DIR, file), chart).find((o) => 'notes' in o) as unknown as {
      notes: string;
    };
    const notes = doc.notes;
    for (const svc of SERVICES) {
      expect(notes.includes(`${componentName(svc)}:8080`), svc).toBe(values.services?.[svc]?.enabled !== false);
    }
    // Every Secret the pods read is named, so an operator knows what to create before installing.
    const secretNames = podSpecs(renderChart(helm, home, path.join(CI_DIR, file))).flatMap(({ spec }) =>
      spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name).filter(Boolean)),
    );
    expect(secretNames.length).toBeGreaterThan(0);
    for (const name of secretNames) expect(notes).toContain(`${name} / key`);
    expect(notes.includes('NetworkPolicy is disabled')).toBe(values.networkPolicy?.enabled === false);
    expect(notes.includes('No Ingress or HTTPRoute')).toBe(
      values.ingress?.enabled !== true && values.httpRoute?.enabled !== true,
    );
    expect(notes).not.toMatch(/no login/i);
    expect(notes.includes('DEMO: dispatch sends through the chart')).toBe(values.simulator?.enabled === true);
  });
});

describe('the options a platform team sets', () => {
  const render = (file: string) => renderChart(helm, home, path.join(CI_DIR, file));

  it('production: one registry mirror for every image, IRSA on dispatch alone, the company CA everywhere', () => {
    const objects = render('production-values.yaml');
    for (const { owner, spec } of podSpecs(objects)) {
      for (const c of spec.containers) {
        expect(c.image, `${owner.metadata.name} ${c.name}`).toMatch(
          /^mirror\.internal\.example\/messaging\/delivery-reporting\//,
        );
        // extraVolumeMounts / extraEnv in every service container and the migration job's.
        if (owner.kind === 'Pod') continue;
        expect(c.volumeMounts, `${owner.metadata.name} ${c.name} CA mount`).toContainEqual({
          name: 'company-ca',
          mountPath: '/etc/company-ca',
          readOnly: true,
        });
        expect(c.env, `${owner.metadata.name} ${c.name} CA variable`).toContainEqual({
          name: 'NODE_EXTRA_CA_CERTS',
          value: '/etc/company-ca/ca.crt',
        });
      }
      if (owner.kind !== 'Pod') {
        expect(
          spec.volumes?.filter((v) => v.name === 'company-ca'),
          `${owner.metadata.name} CA volume`,
        ).toEqual([{ name: 'company-ca', configMap: { name: 'company-ca-bundle' } }]);
      }
    }
    const roles = Object.fromEntries(
      objects
        .filter((o) => o.kind === 'ServiceAccount')
        .map((o) => [o.metadata.name, o.metadata.annotations?.['eks.amazonaws.com/role-arn']]),
    );
    expect(roles).toEqual({
      ...Object.fromEntries(SERVICES.map((svc) => [componentName(svc), undefined])),
      [componentName('dispatch')]: 'arn:aws:iam::123456789012:role/delivery-reporting-ses',
    });
    // No simulator: nothing of it is rendered or read.
    expect(objects.filter((o) => o.metadata.name.includes('simulator'))).toEqual([]);
    expect(JSON.stringify(objects)).not.toMatch(/SIMULATOR_|provider-simulator/);
  });

  it('production: a ServiceMonitor of the five admin ports and a PrometheusRule of the documented alerts', () => {
    const objects = render('production-values.yaml');
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors).toHaveLength(1);
    const sm = monitors[0]!.spec as {
      selector: { matchLabels: Labels; matchExpressions: { key: string; values: string[] }[] };
      endpoints: { port: string; path: string }[];
    };
    expect(monitors[0]!.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    expect(sm.endpoints).toMatchObject([{ port: 'admin', path: '/metrics' }]);
    const selected = objects.filter(
      (o) =>
        o.kind === 'Service' &&
        selects(sm.selector.matchLabels, o.metadata.labels ?? {}) &&
        sm.selector.matchExpressions.every((e) => e.values.includes(o.metadata.labels?.[e.key] ?? '')),
    );
    expect(selected.map((o) => o.metadata.name).sort()).toEqual(SERVICES.map(componentName).sort());

    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    const alerts = (
      rule!.spec as { groups: { rules: { alert: string; expr: string; labels: Labels }[] }[] }
    ).groups.flatMap((g) => g.rules);
    // One alert per row of docs/operations.md's "What to watch" table.
    const operations = readOperations();
    const documented = [...operations.matchAll(/^\| `(dlr_[a-z_]+)/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThanOrEqual(9);
    const used = new Set(
      alerts.flatMap((a) => [...a.expr.matchAll(/\b(dlr_[a-z_]+?)(?:_bucket)?\b/g)].map((m) => m[1]!)),
    );
    for (const metric of documented) expect(used, `an alert on ${metric}`).toContain(metric);
    // Every metric an alert reads is one the services define, and only this release's series.
    const defined = definedMetrics();
    for (const metric of used) expect(defined, `${metric} is defined in the code`).toContain(metric);
    for (const a of alerts) {
      expect(a.expr, a.alert).toContain(`namespace="${NAMESPACE}"`);
      expect(a.labels['team'], a.alert).toBe('messaging');
    }
  });

  it('gateway: an HTTPRoute per edge on the Gateway, the console exposed, no Ingress', () => {
    const objects = render('gateway-values.yaml');
    expect(objects.filter((o) => o.kind === 'Ingress')).toEqual([]);
    const routes = objects.filter((o) => o.kind === 'HTTPRoute');
    const byHost = Object.fromEntries(
      routes.map((r) => {
        const spec = r.spec as {
          hostnames: string[];
          parentRefs: unknown[];
          rules: { backendRefs: { name: string }[] }[];
        };
        expect(spec.parentRefs).toEqual([{ name: 'public', namespace: 'gateway-system', sectionName: 'https' }]);
        return [spec.hostnames[0], spec.rules[0]!.backendRefs[0]!.name];
      }),
    );
    expect(byHost).toEqual({
      'callbacks.gw.example.com': componentName('provider-callback'),
      'links.gw.example.com': componentName('feedback-link'),
      'reports.gw.example.com': componentName('reporting'),
      'console.gw.example.com': componentName('communication'),
    });
    // dispatch's public URLs come from the routes' hosts.
    const dispatch = named(objects, 'ConfigMap', componentName('dispatch'));
    expect(dispatch?.data).toMatchObject({
      PROVIDER_CALLBACK_URL: 'https://callbacks.gw.example.com',
      FEEDBACK_BASE_URL: 'https://links.gw.example.com',
    });
  });

  it('the demo (simulator.enabled): the simulator is deployed, dispatch and provider-callback are wired to it and it to them', () => {
    const objects = render('minimal-values.yaml');
    const simulator = componentName('provider-simulator');
    expect(named(objects, 'Deployment', simulator)).toBeDefined();
    const svc = named(objects, 'Service', simulator)!;
    const port = (svc.spec as { ports: { port: number }[] }).ports[0]!.port;
    expect(named(objects, 'ConfigMap', componentName('dispatch'))?.data?.['SIMULATOR_URL']).toBe(
      `http://${simulator}:${port}`,
    );
    // The simulator signs callbacks with the secret provider-callback verifies them with.
    const secretOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    const sim = podSpecs(objects).find((p) => p.owner.metadata.name === simulator)!.spec.containers[0]!;
    expect(secretOf(serviceContainer(objects, 'provider-callback'), 'SIMULATOR_WEBHOOK_SECRET')).toEqual(
      secretOf(sim, 'SIMULATOR_WEBHOOK_SECRET'),
    );
    expect(secretOf(serviceContainer(objects, 'dispatch'), 'SIMULATOR_API_KEY')).toEqual(
      secretOf(sim, 'SIMULATOR_API_KEY'),
    );
  });

  it('by default deploys no simulator: nothing renders until a demo enables it or providers are chosen', async () => {
    const none = path.join(home, 'defaults-values.yaml');
    await fsp.writeFile(none, '{}\n');
    const t = template(helm, home, none);
    expect(t.status).not.toBe(0);
    expect(t.stderr).toContain('set simulator.enabled=true (a demo), providers.simulator.url, or real providers');

    const chosen = path.join(home, 'providers-values.yaml');
    await fsp.writeFile(
      chosen,
      'services:\n  dispatch:\n    env:\n      EMAIL_PROVIDER: sendgrid\n      SMS_PROVIDER: twilio\n',
    );
    const objects = renderChart(helm, home, chosen);
    expect(objects.filter((o) => o.metadata.name.includes('simulator'))).toEqual([]);
    expect(JSON.stringify(objects)).not.toMatch(/SIMULATOR_|provider-simulator/);
  });
});

describe("the chart README's install steps, run as written", () => {
  /** The fenced blocks of the README, by info string (```sh demo, ```yaml production.yaml). */
  const blocks = (): Map<string, string> => {
    const text = readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    return new Map([...text.matchAll(/^```(\w+ [\w.-]+)\n([\s\S]*?)^```$/gm)].map((m) => [m[1]!, m[2]!]));
  };

  it.each(['demo', 'production'])(
    '%s: every Secret and key the pods and the migration job read is created by the commands',
    async (scenario) => {
      const commands = blocks().get(`sh ${scenario}`);
      expect(commands, `a \`\`\`sh ${scenario} block`).toBeDefined();
      const lines = commands!.split('\n').filter((l) => l.trim() !== '');
      // Secrets the commands create: name → keys (--from-literal=key=… only).
      const created = new Map<string, Set<string>>();
      for (const line of lines.filter((l) => l.includes('create secret generic'))) {
        const name = /create secret generic (\S+)/.exec(line)?.[1];
        const keys = [...line.matchAll(/--from-literal=([\w.-]+)=/g)].map((k) => k[1]!);
        expect(name, line).toBeDefined();
        expect(keys.length, line).toBeGreaterThan(0);
        created.set(name!, new Set(keys));
      }
      // The install command, with its values files from the README's own blocks.
      const install = lines.find((l) => l.startsWith('helm install '));
      expect(install, 'a helm install line').toBeDefined();
      const args = install!
        .split(/\s+/)
        .slice(2)
        .filter((a) => a !== '--wait');
      const files = args.filter((_, i) => args[i - 1] === '-f');
      const dir = await fsp.mkdtemp(path.join(home, `readme-${scenario}-`));
      for (const f of files) {
        const yaml = blocks().get(`yaml ${f}`);
        expect(yaml, `the README shows ${f}`).toBeDefined();
        await fsp.writeFile(path.join(dir, f), yaml!);
      }
      const chartAt = args.indexOf('deploy/helm/delivery-reporting');
      expect(chartAt, 'the chart path').toBe(1);
      const rendered = templateArgs(
        helm,
        home,
        args.map((a, i) => (i === chartAt ? CHART_DIR : files.includes(a) ? path.join(dir, a) : a)),
      );
      expect(args[args.indexOf('-n') + 1]).toBe(NAMESPACE);
      const read = podSpecs(rendered).flatMap(({ owner, spec }) =>
        spec.containers.flatMap((c) =>
          (c.env ?? []).flatMap((e) =>
            e.valueFrom?.secretKeyRef
              ? [{ at: `${owner.metadata.name}/${c.name}/${e.name}`, ...e.valueFrom.secretKeyRef }]
              : [],
          ),
        ),
      );
      expect(read.length).toBeGreaterThan(0);
      for (const ref of read)
        expect(created.get(ref.name)?.has(ref.key), `${ref.at} reads ${ref.name}/${ref.key}`).toBe(true);
      // Nothing created that nothing reads (a left-over Secret misleads the next reader).
      const used = new Set(read.map((r) => `${r.name}/${r.key}`));
      for (const [name, keys] of created)
        for (const key of keys) expect(used, `${name}/${key} is read`).toContain(`${name}/${key}`);
      // The migration job runs what the README says it runs.
      const job = podSpecs(rendered).find((p) => p.owner.kind === 'Job')!;
      for (const c of job.spec.containers) expect(c.args).toEqual([`services/${c.name}/dist/main.js`, 'migrate']);
    },
  );

  it('says the reports UI and the console have a sign-in, and names the migration arguments the job runs', () => {
    const text = readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    expect(text).not.toMatch(/no login/i);
    expect(text).toContain('args: ["services/<service>/dist/main.js", "migrate"]');
    expect(text).not.toContain('scripts/migrate.js');
  });
});

describe('catches mistakes', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(home, 'mistakes-'));
  });

  it.each([
    { yaml: 'services:\n  dispatch:\n    replica: 3\n', at: '/services/dispatch', key: 'replica' },
    { yaml: 'default:\n  probes:\n    readyness: {}\n', at: '/default/probes', key: 'readyness' },
    { yaml: 'secrets:\n  mongodbUri:\n    nme: x\n', at: '/secrets/mongodbUri', key: 'nme' },
    {
      yaml: 'networkPolicy:\n  dns:\n    to:\n      - podselector: {}\n',
      at: '/networkPolicy/dns/to/0',
      key: 'podselector',
    },
    { yaml: 'services:\n  notifier:\n    enabled: true\n', at: '/services', key: 'notifier' },
  ])('fails helm lint and helm template on a misspelt values key: $at/$key', async ({ yaml, at, key }) => {
    const bad = path.join(dir, `misspelt-${key}-values.yaml`);
    await fsp.writeFile(bad, yaml);
    const l = lint(helm, home, bad);
    expect(l.status).not.toBe(0);
    expect(l.stdout + l.stderr).toContain(`at '${at}': additional properties '${key}' not allowed`);
    const t = template(helm, home, bad);
    expect(t.status).not.toBe(0);
    expect(t.stderr).toContain(`'${key}'`);
  });

  it('refuses a secret variable in a ConfigMap env block', async () => {
    const bad = path.join(dir, 'secret-in-env-values.yaml');
    await fsp.writeFile(
      bad,
      'services:\n  feedback-link:\n    env:\n      LINK_SIGNING_KEYS: "k1:not-in-a-configmap"\n',
    );
    const l = lint(helm, home, bad);
    expect(l.status).not.toBe(0);
    expect(l.stdout + l.stderr).toContain('LINK_SIGNING_KEYS');
    // … and a literal value for one in extraEnv (valueFrom a Secret is the way).
    const literal = path.join(dir, 'secret-in-extra-env-values.yaml');
    await fsp.writeFile(literal, 'default:\n  extraEnv:\n    - name: SERVICE_TOKEN\n      value: "in-the-pod-spec"\n');
    expect(lint(helm, home, literal).status).not.toBe(0);
    const fromSecret = path.join(dir, 'secret-from-secret-values.yaml');
    await fsp.writeFile(
      fromSecret,
      'default:\n  extraEnv:\n    - name: SERVICE_TOKEN\n      valueFrom: { secretKeyRef: { name: x, key: y } }\n',
    );
    expect(lint(helm, home, fromSecret).status).toBe(0);
  });

  it('fails the Kubernetes schema check on a misspelt field in a template', async () => {
    const minimal = path.join(CI_DIR, 'minimal-values.yaml');
    const cases = [
      {
        from: 'containerPort:',
        to: 'containerPorts:',
        expect: /containers\/0\/ports\/0\/containerPorts: unknown field/,
      },
      {
        from: 'readOnlyRootFilesystem: true',
        to: 'readOnlyRootFilesytem: true',
        expect: /securityContext\/readOnlyRootFilesytem: unknown field/,
      },
      { from: 'readinessProbe:', to: 'readinesProbe:', expect: /containers\/0\/readinesProbe: unknown field/ },
    ];
    for (const c of cases) {
      const chart = path.join(dir, `chart-${c.to.replace(/\W/g, '')}`);
      await fsp.cp(CHART_DIR, chart, { recursive: true });
      const file = path.join(chart, 'templates', 'workloads.yaml');
      const text = await fsp.readFile(file, 'utf8');
      expect(text, `template contains ${c.from}`).toContain(c.from);
      await fsp.writeFile(file, text.replaceAll(c.from, c.to));
      // Helm itself renders the mistake without complaint …
      const objects = renderChart(helm, home, minimal, chart);
      // … the schema check does not.
      const problems = objects.flatMap((o) => validateObject(o));
      expect(problems.join('\n'), c.to).toMatch(c.expect);
    }
    // A type error is caught too (replicas: "two").
    const deployment = renderChart(helm, home, minimal).find((o) => o.kind === 'Deployment')!;
    expect(validateObject({ ...deployment, spec: { ...deployment.spec, replicas: 'two' } })).toContain(
      '/spec/replicas: must be integer',
    );
  });
});

function serviceContainer(objects: K8sObject[], svc: string): Container {
  const d = named(objects, 'Deployment', componentName(svc));
  if (!d) throw new Error(`no Deployment for ${svc}`);
  const c = (d.spec as { template: { spec: PodSpec } }).template.spec.containers.find((x) => x.name === svc);
  if (!c) throw new Error(`Deployment ${svc} has no container named ${svc}`);
  return c;
}

function tmpIsEmptyDir(spec: PodSpec, c: Container): boolean {
  const mount = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
  return !!mount && !!spec.volumes?.find((v) => v.name === mount.name)?.emptyDir;
}

// Printed once so a run's log says which release and namespace the renders used.
process.stderr.write(`[chart] rendering ${CHART_DIR} as release ${RELEASE} in namespace ${NAMESPACE}\n`);

/** docs/operations.md, whose "What to watch" table the PrometheusRule implements. */
function readOperations(): string {
  return readFileSync(path.resolve(CHART_DIR, '../../../docs/operations.md'), 'utf8');
}

/** Every `dlr_*` metric name written in the services' and packages' sources (tests left out). */
function definedMetrics(): Set<string> {
  const root = path.resolve(CHART_DIR, '../../..');
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'test') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.test.ts')) {
        for (const m of readFileSync(full, 'utf8').matchAll(/'(dlr_[a-z_]+)'/g)) names.add(m[1]!);
      }
    }
  };
  for (const top of ['services', 'packages']) walk(path.join(root, top));
  return names;
}
