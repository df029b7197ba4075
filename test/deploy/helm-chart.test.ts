/**
 * The Helm chart (deploy/helm/ferry), checked with the real tools: `helm lint --strict`, `helm
 * template`, and kubeconform in strict mode against Kubernetes 1.34's own schemas (and
 * prometheus-operator's ServiceMonitor CRD), all set up under .tmp/k8s by scripts/setup-k8s.sh.
 * No cluster runs here, so what a cluster would decide is checked on the rendered objects: probes,
 * grace period against Ferry's drain, the security context, the sidecar layout's ports against
 * samples/envoy/envoy.yaml, and mappings given as values validated by Ferry itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { validateMappings } from '../../src/app/main.js';

const ROOT = path.resolve('.');
const CHART = path.join(ROOT, 'deploy/helm/ferry');
const HELM = path.join(ROOT, '.tmp/k8s/bin/helm');
const KUBECONFORM = path.join(ROOT, '.tmp/k8s/bin/kubeconform');
const SCHEMAS = path.join(ROOT, '.tmp/k8s/schemas');
const KUBE_VERSION = '1.34.0';

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };

function helm(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(HELM, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(ROOT, '.tmp/k8s/helm-cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` with --set pairs; the rendered objects. */
function render(sets: readonly string[] = [], valuesFile?: string): { text: string; objects: K8sObject[] } {
  const args = ['template', 'demo', CHART, '--kube-version', KUBE_VERSION, ...sets.flatMap((s) => ['--set', s])];
  if (valuesFile !== undefined) args.push('-f', valuesFile);
  const r = helm(args);
  assert.equal(r.status, 0, `helm template ${sets.join(' ')} failed: ${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { text: r.stdout, objects };
}

/** kubeconform -strict over rendered YAML: the summary line, or the failures. */
async function kubeconform(text: string): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-chart-'));
  try {
    const file = path.join(dir, 'rendered.yaml');
    await writeFile(file, text);
    const r = spawnSync(KUBECONFORM, ['-strict', '-summary', '-schema-location', `${SCHEMAS}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, file], {
      encoding: 'utf8',
    });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const byKind = (objects: readonly K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
const one = (objects: readonly K8sObject[], kind: string): K8sObject => {
  const found = byKind(objects, kind);
  assert.equal(found.length, 1, `one ${kind} rendered`);
  return found[0]!;
};

describe('Helm chart deploy/helm/ferry', () => {
  test('helm lint --strict passes for the default values and for the sidecar layout', () => {
    for (const sets of [[], ['envoySidecar.enabled=true', 'serviceMonitor.enabled=true', 'autoscaling.enabled=true']]) {
      const r = helm(['lint', '--strict', CHART, '--kube-version', KUBE_VERSION, ...sets.flatMap((s) => ['--set', s])]);
      assert.equal(r.status, 0, `helm lint ${sets.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  test('default values render the expected objects and kubeconform (strict, Kubernetes 1.34 schemas) accepts every one', async () => {
    const { text, objects } = render();
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    const check = await kubeconform(text);
    assert.ok(check.ok, check.output);
    assert.match(check.output, /5 resources found in 1 file - Valid: 5, Invalid: 0, Errors: 0, Skipped: 0/);
  });

  test('the sidecar layout with HPA and ServiceMonitor renders valid objects (input: envoySidecar, autoscaling, serviceMonitor enabled)', async () => {
    const { text, objects } = render(['envoySidecar.enabled=true', 'autoscaling.enabled=true', 'serviceMonitor.enabled=true']);
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    const check = await kubeconform(text);
    assert.ok(check.ok, check.output);
    assert.match(check.output, /8 resources found in 1 file - Valid: 8, Invalid: 0/);
    assert.equal(one(objects, 'Deployment').spec.replicas, undefined, 'the HPA owns the replica count');
  });

  test('kubeconform refuses what Kubernetes would (input: a misspelt field, a string where an integer goes), so the checks above can fail', async () => {
    const { text } = render();
    const typo = await kubeconform(text.replace('readOnlyRootFilesystem', 'readOnlyRootFilesytem'));
    assert.equal(typo.ok, false);
    assert.match(typo.output, /additional properties 'readOnlyRootFilesytem' not allowed/);
    const wrongType = await kubeconform(text.replace(/terminationGracePeriodSeconds: \d+/, 'terminationGracePeriodSeconds: soon'));
    assert.equal(wrongType.ok, false);
    assert.match(wrongType.output, /terminationGracePeriodSeconds/);
  });

  test('probes, drain and grace period: readiness /readyz and liveness /healthz on the admin port; the grace period covers pre-stop sleep + drain', () => {
    const pod = one(render(['ferry.drainTimeoutSeconds=25', 'preStopSleepSeconds=3']).objects, 'Deployment').spec.template.spec;
    const ferry = pod.containers.find((c: any) => c.name === 'ferry');
    assert.deepEqual(ferry.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
    assert.deepEqual(ferry.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
    assert.deepEqual(
      ferry.ports.map((p: any) => [p.name, p.containerPort]),
      [
        ['http', 8080],
        ['admin', 9090],
      ],
    );
    const env = Object.fromEntries(ferry.env.map((e: any) => [e.name, e.value]));
    assert.equal(env['FERRY_DRAIN_TIMEOUT_MS'], '25000');
    assert.deepEqual(ferry.lifecycle.preStop, { sleep: { seconds: 3 } });
    assert.equal(pod.terminationGracePeriodSeconds, 3 + 25 + 5);
    // The args are the real command line: the same flags parse in Ferry's CLI (checked in container-image.test.ts).
    assert.deepEqual(ferry.args.slice(0, 3), ['serve', '--mappings', '/etc/ferry/mappings']);
    assert.equal(ferry.args[ferry.args.indexOf('--admin-host') + 1], '0.0.0.0', 'the kubelet reaches the admin port on the pod address');
  });

  test('security: not root (the image user), no privilege escalation, read-only root file system with a writable /tmp', () => {
    const pod = one(render().objects, 'Deployment').spec.template.spec;
    const dockerfile = readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    assert.ok(user, 'the Dockerfile sets a numeric non-root user');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, Number(user[1]));
    const ferry = pod.containers.find((c: any) => c.name === 'ferry');
    assert.equal(ferry.securityContext.readOnlyRootFilesystem, true);
    assert.equal(ferry.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(ferry.securityContext.capabilities.drop, ['ALL']);
    const tmp = ferry.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    assert.ok(pod.volumes.find((v: any) => v.name === tmp.name).emptyDir, '/tmp is an emptyDir');
  });

  test('sidecar layout: Envoy gets the traffic, its ext_proc cluster points at the port Ferry serves ext_proc on, its config is samples/envoy/envoy.yaml', () => {
    const { objects } = render(['envoySidecar.enabled=true']);
    const pod = one(objects, 'Deployment').spec.template.spec;
    const ferry = pod.containers.find((c: any) => c.name === 'ferry');
    const envoy = pod.containers.find((c: any) => c.name === 'envoy');
    assert.ok(envoy, 'an envoy container');
    const extProcPort = Number(ferry.args[ferry.args.indexOf('--ext-proc-port') + 1]);
    assert.equal(ferry.args[ferry.args.indexOf('--host') + 1], '127.0.0.1', "Ferry's own HTTP port stays inside the pod");
    const envoyConfigMap = byKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-envoy'))!;
    const sample = readFileSync(path.join(ROOT, 'samples/envoy/envoy.yaml'), 'utf8');
    assert.equal(envoyConfigMap.data!['envoy.yaml']!.trim(), sample.trim());
    const bootstrap = parse(envoyConfigMap.data!['envoy.yaml']!);
    const cluster = bootstrap.static_resources.clusters.find((c: any) => c.name === 'ferry_ext_proc');
    const address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    assert.deepEqual([address.address, address.port_value], ['127.0.0.1', extProcPort]);
    // Ferry is told the filter's own timers (so it asks for more time on long routes).
    const filter = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config;
    const ms = (d: string): number => parseFloat(d) * (d.endsWith('ms') ? 1 : 1000);
    assert.equal(Number(ferry.args[ferry.args.indexOf('--envoy-message-timeout-ms') + 1]), ms(filter.message_timeout));
    assert.equal(Number(ferry.args[ferry.args.indexOf('--envoy-max-message-timeout-ms') + 1]), ms(filter.max_message_timeout));
    const listener = bootstrap.static_resources.listeners[0].address.socket_address;
    assert.equal(envoy.ports.find((p: any) => p.name === 'http').containerPort, listener.port_value);
    const service = one(objects, 'Service');
    assert.equal(service.spec.ports.find((p: any) => p.name === 'http').targetPort, 'http');
    assert.equal(
      ferry.ports.find((p: any) => p.name === 'http'),
      undefined,
      'the only container port named http is Envoy’s, so the Service sends traffic through Envoy',
    );
  });

  test('Envoy Gateway layout: an EnvoyExtensionPolicy (valid under the Envoy Gateway 1.9 CRD) sends the targeted routes to the ext_proc port Ferry serves', async () => {
    const sets = [
      'envoyGateway.enabled=true',
      'envoyGateway.targetRefs[0].group=gateway.networking.k8s.io',
      'envoyGateway.targetRefs[0].kind=HTTPRoute',
      'envoyGateway.targetRefs[0].name=bank-api',
    ];
    const { text, objects } = render(sets);
    const check = await kubeconform(text);
    assert.ok(check.ok, check.output);
    assert.match(check.output, /6 resources found in 1 file - Valid: 6, Invalid: 0/);
    const policy = one(objects, 'EnvoyExtensionPolicy');
    assert.deepEqual(policy.spec.targetRefs, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'bank-api' }]);
    const [ext] = policy.spec.extProc;
    const [ref] = ext.backendRefs;
    const service = one(objects, 'Service');
    assert.equal(ref.kind, 'Service');
    assert.equal(ref.name, service.metadata.name);
    // The CRD's CEL rule (not checked by kubeconform): a Service reference has a port.
    assert.equal(typeof ref.port, 'number');
    const port = service.spec.ports.find((p: any) => p.name === 'ext-proc');
    assert.deepEqual([port.port, port.appProtocol], [ref.port, 'kubernetes.io/h2c']);
    const ferry = one(objects, 'Deployment').spec.template.spec.containers.find((c: any) => c.name === 'ferry');
    assert.equal(Number(ferry.args[ferry.args.indexOf('--ext-proc-port') + 1]), ref.port);
    assert.equal(
      `${ferry.args[ferry.args.indexOf('--envoy-message-timeout-ms') + 1]}ms`,
      ext.messageTimeout,
      "Ferry is told the policy's message timeout",
    );
    assert.equal(ext.failOpen, false);
    assert.deepEqual(ext.metadata.writableNamespaces, ['envoy.filters.http.ext_proc']);
    const typo = await kubeconform(text.replace('failOpen:', 'failopen:'));
    assert.equal(typo.ok, false, 'a misspelt policy field is refused');
    for (const [extra, expected] of [
      [['envoyGateway.enabled=true'], /needs envoyGateway.targetRefs/],
      [[...sets, 'envoySidecar.enabled=true'], /two layouts: enable one/],
    ] as const) {
      const r = helm(['template', 'demo', CHART, '--kube-version', KUBE_VERSION, ...extra.flatMap((x) => ['--set', x])]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, expected);
    }
  });

  test('mappings given as values land in the ConfigMap mounted at /etc/ferry/mappings and validate with Ferry', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-chart-values-'));
    try {
      const bank = await readFile(path.join(ROOT, 'mappings/bank.yaml'), 'utf8');
      const valuesFile = path.join(dir, 'values.yaml');
      await writeFile(valuesFile, JSON.stringify({ mappings: { 'bank.yaml': bank } }));
      const { objects } = render([], valuesFile);
      const configMap = byKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-mappings'))!;
      assert.deepEqual(Object.keys(configMap.data!), ['bank.yaml']);
      const pod = one(objects, 'Deployment').spec.template.spec;
      assert.equal(pod.volumes.find((v: any) => v.name === 'mappings').configMap.name, configMap.metadata.name);
      const mounted = path.join(dir, 'mounted');
      execFileSync('mkdir', ['-p', mounted]);
      await writeFile(path.join(mounted, 'bank.yaml'), configMap.data!['bank.yaml']!);
      const { config } = await validateMappings(mounted);
      assert.ok(
        config.routes.some((r) => r.id === 'get-account'),
        'the mapping survived the chart unchanged',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('certificates from a Secret: HTTPS and ext_proc flags name files under the mount, mounted read-only as a directory (so rotations arrive), secrets as env; kubeconform accepts', async () => {
    const sets = [
      'tls.secretName=ferry-certs',
      'tls.https.enabled=true',
      'tls.https.clientCaFile=ca.crt',
      'tls.extProc.enabled=true',
      'ferry.secretEnv.NACOS_PASSWORD.secretName=nacos-credentials',
      'ferry.secretEnv.NACOS_PASSWORD.key=password',
    ];
    const { text, objects } = render(sets);
    const check = await kubeconform(text);
    assert.ok(check.ok, check.output);
    const pod = one(objects, 'Deployment').spec.template.spec;
    const ferry = pod.containers.find((c: { name: string }) => c.name === 'ferry');
    const args: string[] = ferry.args;
    const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
    assert.equal(flag('--tls-cert'), '/etc/ferry/tls/tls.crt');
    assert.equal(flag('--tls-key'), '/etc/ferry/tls/tls.key');
    assert.equal(flag('--tls-client-ca'), '/etc/ferry/tls/ca.crt');
    assert.equal(flag('--ext-proc-tls-cert'), '/etc/ferry/tls/tls.crt');
    assert.equal(flag('--ext-proc-tls-client-ca'), undefined, 'no client CA for ext_proc unless asked');
    const mount = ferry.volumeMounts.find((m: { name: string }) => m.name === 'tls');
    assert.deepEqual(mount, { name: 'tls', mountPath: '/etc/ferry/tls', readOnly: true }, 'a directory mount without subPath');
    const volume = pod.volumes.find((v: { name: string }) => v.name === 'tls');
    assert.equal(volume.secret.secretName, 'ferry-certs');
    const env = ferry.env.find((e: { name: string }) => e.name === 'NACOS_PASSWORD');
    assert.deepEqual(env.valueFrom, { secretKeyRef: { name: 'nacos-credentials', key: 'password' } });
    // Default values: no TLS flags, no Secret volume.
    const plain = one(render().objects, 'Deployment').spec.template.spec;
    assert.ok(!plain.containers[0].args.includes('--tls-cert'), 'TLS flags without tls values');
    assert.equal(
      plain.volumes.find((v: { name: string }) => v.name === 'tls'),
      undefined,
    );
  });

  test('TLS values are refused when they cannot work (input: https without a Secret, a file name with a slash, ext_proc TLS with the plain-text sample sidecar)', () => {
    for (const [sets, expected] of [
      [['tls.https.enabled=true'], /secretName/],
      [['tls.secretName=c', 'tls.https.enabled=true', 'tls.https.certFile=../etc/passwd'], /does not match pattern/],
      [['tls.secretName=c', 'tls.extProc.enabled=true', 'envoySidecar.enabled=true'], /envoySidecar.config/],
    ] as const) {
      const r = helm(['template', 'demo', CHART, '--kube-version', KUBE_VERSION, ...sets.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.status, 0, `helm accepted --set ${sets.join(' ')}`);
      assert.match(r.stderr, expected);
    }
  });

  test('values.schema.json refuses bad values with the key named (input: a misspelt key, a mapping file not named *.yaml, workers "two")', () => {
    for (const [set, expected] of [
      ['ferry.workrs=2', /additional properties 'workrs' not allowed/],
      ['mappings.bank\\.txt=x', /'bank\.txt' does not match pattern/],
      ['ferry.workers=two', /workers/],
    ] as const) {
      const r = helm(['template', 'demo', CHART, '--kube-version', KUBE_VERSION, '--set', set]);
      assert.notEqual(r.status, 0, `helm accepted --set ${set}`);
      assert.match(r.stderr, expected);
    }
  });
});
