// The deployment files cannot run here (no Docker engine, no cluster): check them offline instead. The manifest
// against a schema of the Kubernetes fields it uses (zod, strict: a misspelt field is an error, as the API server's
// strict field validation makes it), plus what bpftrace needs on the node; the Dockerfile instruction by instruction,
// so it builds from the repository with only Debian's packages and the npm registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import { monitors } from '../../src/monitors/registry.js';
import { repoRoot } from '../helpers/paths.js';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

// ---- Kubernetes: the fields the manifest uses, with the rules the API server applies to them ----------------------
/** RFC 1123 label: names of namespaces, containers, volumes. */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
/** RFC 1123 subdomain: names of ConfigMaps, DaemonSets. */
const dnsSubdomain = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
const labelMap = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/), z.string().max(63));
const quantity = z.string().regex(/^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/);
const absolutePath = z.string().regex(/^\/[^\0]*$/);
/** IANA service name, as a port name must be: at most 15 characters, a letter in it. */
const portName = z.string().regex(/^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/);

const metadata = z.strictObject({ name: dnsSubdomain, namespace: dnsLabel.optional(), labels: labelMap.optional(), annotations: z.record(z.string(), z.string()).optional() });
const httpProbe = z.strictObject({
  httpGet: z.strictObject({ path: absolutePath, port: z.union([z.number().int().min(1).max(65535), portName]) }),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
});
const container = z.strictObject({
  name: dnsLabel,
  image: z.string().min(1),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  args: z.array(z.string()),
  securityContext: z.strictObject({
    privileged: z.boolean(),
    allowPrivilegeEscalation: z.boolean(),
    readOnlyRootFilesystem: z.boolean(),
    capabilities: z.strictObject({ drop: z.array(z.string().regex(/^[A-Z_]+$/)), add: z.array(z.string().regex(/^[A-Z_]+$/)) }),
  }),
  ports: z.array(z.strictObject({ name: portName, containerPort: z.number().int().min(1).max(65535), protocol: z.enum(['TCP', 'UDP', 'SCTP']) })),
  resources: z.strictObject({
    requests: z.strictObject({ cpu: quantity, memory: quantity }),
    limits: z.strictObject({ cpu: quantity, memory: quantity }),
  }),
  livenessProbe: httpProbe,
  readinessProbe: httpProbe,
  volumeMounts: z.array(z.strictObject({ name: dnsLabel, mountPath: absolutePath, readOnly: z.boolean().optional() })),
});
const volume = z.union([
  z.strictObject({ name: dnsLabel, hostPath: z.strictObject({ path: absolutePath, type: z.enum(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']).optional() }) }),
  z.strictObject({ name: dnsLabel, configMap: z.strictObject({ name: dnsSubdomain }) }),
  z.strictObject({ name: dnsLabel, emptyDir: z.strictObject({}) }),
]);
const namespace = z.strictObject({ apiVersion: z.literal('v1'), kind: z.literal('Namespace'), metadata });
const configMap = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata,
  data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string()),
});
const daemonSet = z.strictObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('DaemonSet'),
  metadata,
  spec: z.strictObject({
    selector: z.strictObject({ matchLabels: labelMap }),
    updateStrategy: z.strictObject({ type: z.enum(['RollingUpdate', 'OnDelete']) }),
    template: z.strictObject({
      metadata: z.strictObject({ labels: labelMap, annotations: z.record(z.string(), z.string()).optional() }),
      spec: z.strictObject({
        hostPID: z.boolean(),
        automountServiceAccountToken: z.boolean(),
        priorityClassName: dnsSubdomain,
        terminationGracePeriodSeconds: z.number().int().min(0),
        tolerations: z.array(z.strictObject({ operator: z.enum(['Exists', 'Equal']), key: z.string().optional(), effect: z.string().optional() })),
        containers: z.array(container).min(1),
        volumes: z.array(volume),
      }),
    }),
  }),
});

const docs = parseAllDocuments(readFileSync(path.join(repoRoot, 'config/deploy/daemonset.yaml'), 'utf8')).map((d) => d.toJS() as unknown);
const parse = <T>(schema: z.ZodType<T>, kind: string): T => {
  const doc = docs.find((d) => (d as { kind?: unknown }).kind === kind);
  assert.ok(doc, `a ${kind}`);
  const r = schema.safeParse(doc);
  assert.ok(r.success, `${kind}: ${r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
};

test('the manifest passes the schema: three documents, the fields Kubernetes requires, nothing misspelt', () => {
  assert.equal(docs.length, 3);
  const ns = parse(namespace, 'Namespace');
  const cm = parse(configMap, 'ConfigMap');
  const ds = parse(daemonSet, 'DaemonSet');
  assert.equal(cm.metadata.namespace, ns.metadata.name);
  assert.equal(ds.metadata.namespace, ns.metadata.name);
  // apps/v1: the selector must match the template's labels, or the API server refuses the DaemonSet.
  for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(ds.spec.template.metadata.labels[k], v, k);
  const pod = ds.spec.template.spec;
  const c = pod.containers[0]!;
  const volumes = new Set(pod.volumes.map((v) => v.name));
  assert.equal(volumes.size, pod.volumes.length, 'volume names are unique');
  for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), `mount ${m.mountPath}: volume ${m.name} exists`);
  for (const probe of [c.livenessProbe, c.readinessProbe]) {
    const port = probe.httpGet.port;
    assert.ok(typeof port === 'number' || c.ports.some((p) => p.name === port), `probe port ${port} is a container port`);
  }
  assert.equal(c.image, `ebpfmon:${version}`, 'the image built from this version (Dockerfile comment)');
});

test('the DaemonSet has what bpftrace needs on the host, and no more', () => {
  const ds = parse(daemonSet, 'DaemonSet');
  const pod = ds.spec.template.spec;
  const c = pod.containers[0]!;
  // pids and comms of the host's processes, and setpriv's parent-death signal (README: host pid namespace on 0.22+).
  assert.equal(pod.hostPID, true);
  assert.equal(pod.automountServiceAccountToken, false, 'no API token: ebpfmon never calls the API server');
  assert.equal(pod.priorityClassName, 'system-node-critical');
  // Measured (docs/deployment.md): bpftrace 0.23 attaches every monitor with CAP_BPF and CAP_PERFMON alone.
  assert.equal(c.securityContext.privileged, false);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['BPF', 'PERFMON'] });
  const mounts = new Map(c.volumeMounts.map((m) => [m.mountPath, m]));
  const hostPath = (name: string): string | undefined => {
    const v = pod.volumes.find((x) => x.name === name);
    return v && 'hostPath' in v ? v.hostPath.path : undefined;
  };
  // tracefs: tracepoint formats, only read (kprobes attach through perf_event_open, no kprobe_events write).
  const tracing = mounts.get('/sys/kernel/tracing');
  assert.ok(tracing && hostPath(tracing.name) === '/sys/kernel/tracing' && tracing.readOnly === true);
  // Nothing pins BPF objects: no bpffs; no debugfs (tracefs has its own mount since 4.1).
  assert.deepEqual(pod.volumes.map((v) => ('hostPath' in v ? v.hostPath.path : null)).filter((p) => p?.startsWith('/sys')), ['/sys/kernel/tracing']);
  // A read-only root needs writable places for what ebpfmon writes: scripts in /tmp, output in /var/lib/ebpfmon.
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  for (const p of ['/tmp', '/var/lib/ebpfmon']) assert.ok(mounts.has(p) && mounts.get(p)?.readOnly !== true, p);
  assert.equal(mounts.get('/etc/ebpfmon')?.readOnly, true);
  assert.deepEqual(c.ports[0], { name: 'metrics', containerPort: 9464, protocol: 'TCP' });
  assert.equal(c.livenessProbe.httpGet.path, '/metrics');
  assert.equal(ds.spec.template.metadata.annotations?.['prometheus.io/port'], String(c.ports[0]?.containerPort));
  assert.ok(pod.terminationGracePeriodSeconds >= 10, 'SIGTERM: the final interval is written before the kill');
  assert.deepEqual(c.args.slice(0, 3), ['start', '-c', '/etc/ebpfmon/monitor_config.yaml']);
  assert.ok(!c.args.includes('--daemon'));
});

/** The metric names the Grafana dashboard queries. */
const dashboardMetrics = (): Set<string> =>
  new Set([...readFileSync(path.join(repoRoot, 'config/deploy/grafana-dashboard.json'), 'utf8').matchAll(/\b(ebpfmon_[a-z_]+?)(?:_bucket|_sum|_count)?\{/g)].map((m) => m[1]!));

test("the ConfigMap's config is the image's, serves metrics on the pod's port, and feeds every dashboard panel", () => {
  const cm = parse(configMap, 'ConfigMap');
  const text = cm.data['monitor_config.yaml'];
  assert.equal(text, readFileSync(path.join(repoRoot, 'config/deploy/monitor_config.yaml'), 'utf8'), 'the same text as config/deploy/monitor_config.yaml');
  const config = parseConfig(text!, 'configmap');
  assert.equal(config.output.prometheus.enabled, true);
  assert.equal(config.output.prometheus.listen, '0.0.0.0:9464', "the container's addresses: a published port reaches it");
  // The node's disk: rotated, gzipped and bounded by age and total size.
  assert.deepEqual(config.output.rotate, { daily: true, max_file_mb: 256, compress: true });
  assert.deepEqual(config.output.retention, { max_age_days: 14, max_total_mb: 2048 });
  const ds = parse(daemonSet, 'DaemonSet');
  assert.ok(ds.spec.template.spec.volumes.some((v) => 'configMap' in v && v.configMap.name === cm.metadata.name));
  // Each metric on the dashboard comes from an enabled monitor (its metrics list), self_stats, or ebpfmon's health.
  const enabled = monitors.filter((m) => (config.monitors as Record<string, { enabled: boolean } | undefined>)[m.name]?.enabled);
  const served = new Set(enabled.flatMap((m) => (m.metrics ?? []).map((x) => x.name)));
  const wanted = dashboardMetrics();
  assert.ok(wanted.size > 15, `the dashboard's metrics were found: ${[...wanted].join(' ')}`);
  for (const name of wanted) {
    if (/^ebpfmon_bpf_run_seconds/.test(name)) assert.equal(config.runtime.self_stats, true, name);
    else if (/^ebpfmon_(monitor_up|monitor_restarts|monitor_process|build_info|bpftrace_|coverage|incomplete|lost_events|skipped_ticks|stalls)/.test(name)) continue;
    else assert.ok(served.has(name), `${name}: from an enabled monitor`);
  }
});

// ---- Dockerfile ------------------------------------------------------------------------------------------------------
/** Instructions with their continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const out: { op: string; args: string }[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (!pending && (line.trim().startsWith('#') || !line.trim())) continue;
    pending += line.trimEnd();
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1) + ' ';
      continue;
    }
    const m = /^(\w+)\s+(.*)$/.exec(pending.trim());
    assert.ok(m, `an instruction: ${pending}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ') });
    pending = '';
  }
  return out;
}

/** Debian packages the image may install, and why. */
const debianPackages: Record<string, string> = {
  nodejs: 'runs ebpfmon (build and runtime)',
  npm: 'npm ci and the build (build stage only)',
  bpftrace: 'the tracer (0.23 in Debian 13)',
  'util-linux': "setpriv: bpftrace dies with ebpfmon; mount for tracefs",
  'ca-certificates': 'TLS to the npm registry',
};

/** Each command a RUN may hold, with what its arguments must be: nothing fetches from outside apt and npm. */
function checkCommand(cmd: string): void {
  const words = cmd.trim().split(' ');
  const [prog, sub] = words;
  switch (prog) {
    case 'apt-get':
      if (sub === 'update') return;
      assert.equal(sub, 'install', cmd);
      assert.ok(words.includes('--no-install-recommends'), `${cmd}: --no-install-recommends`);
      for (const p of words.slice(2).filter((w) => !w.startsWith('-'))) assert.ok(debianPackages[p], `${cmd}: package ${p} is in the list`);
      return;
    case 'npm':
      if (sub === 'ci' || sub === 'prune') {
        assert.ok(words.includes('--ignore-scripts'), `${cmd}: no install scripts (they could fetch anything)`);
        return;
      }
      assert.deepEqual(words.slice(1), ['run', 'build'], cmd);
      return;
    case 'rm':
      assert.deepEqual(words.slice(1), ['-rf', '/var/lib/apt/lists/*'], cmd);
      return;
    case 'ln':
    case 'chmod':
      assert.ok(words.slice(1).every((w) => /^(-s|\+x|\/app\/dist\/src\/cli\/main\.js|\/usr\/local\/bin\/ebpfmon)$/.test(w)), cmd);
      return;
    default:
      assert.fail(`RUN ${cmd}: ${prog} is not a command the image may run (no curl, wget, git, npx, pip)`);
  }
}

test('the Dockerfile builds from the repository with only Debian packages and the npm registry', () => {
  const text = readFileSync(path.join(repoRoot, 'config/deploy/Dockerfile'), 'utf8');
  const ins = instructions(text);
  const stages = new Set<string>();
  let debian: string | undefined;
  for (const { op, args } of ins) {
    switch (op) {
      case 'FROM': {
        const m = /^debian:([a-z]+)-slim(?: AS (\w+))?$/.exec(args);
        assert.ok(m, `FROM ${args}: a Debian image`);
        assert.ok(debian === undefined || debian === m[1], 'every stage on the same release');
        debian = m[1];
        if (m[2]) stages.add(m[2]);
        break;
      }
      case 'COPY': {
        const parts = args.split(' ');
        const from = /^--from=(\w+)$/.exec(parts[0] ?? '');
        if (from) {
          assert.ok(stages.has(from[1]!), `COPY --from=${from[1]}: an earlier stage`);
          break;
        }
        // From the build context (the repository): each source exists in it.
        for (const src of parts.slice(0, -1)) assert.ok(!src.startsWith('-') && existsSync(path.join(repoRoot, src)), `COPY ${src}: in the repository`);
        break;
      }
      case 'RUN':
        assert.doesNotMatch(args, /https?:|ftp:|\bcurl\b|\bwget\b|\bgit\b|\bnpx\b|\bpip\b/, `RUN ${args}`);
        for (const cmd of args.split(/&&|;|\|/)) checkCommand(cmd);
        break;
      case 'ENV':
        assert.equal(args, 'DEBIAN_FRONTEND=noninteractive', 'no proxy or registry override');
        break;
      case 'WORKDIR':
      case 'ENTRYPOINT':
      case 'CMD':
        break;
      default:
        assert.fail(`${op} ${args}: not an instruction this image uses (ADD can fetch URLs; ARG can redirect)`);
    }
  }
  assert.equal(debian, 'trixie', "Debian 13: nodejs 20 (package.json's engines), bpftrace 0.23");
  // The default command's config is in the image, and the example in the comment runs it and publishes its port.
  assert.ok(ins.some((i) => i.op === 'COPY' && i.args === 'config/deploy/monitor_config.yaml /etc/ebpfmon/monitor_config.yaml'));
  assert.ok(ins.some((i) => i.op === 'CMD' && i.args.includes('"/etc/ebpfmon/monitor_config.yaml"')));
  assert.match(text, /^#\s+docker run [^\n]*\\\n#[^\n]* -p 127\.0\.0\.1:9464:9464 ebpfmon:/m);
  assert.match(text, /--cap-add=BPF --cap-add=PERFMON/);
  assert.ok(ins.some((i) => i.op === 'RUN' && /apt-get install[^&]*\bbpftrace\b/.test(i.args)));
  assert.ok(ins.some((i) => i.op === 'ENTRYPOINT' && i.args === '["ebpfmon"]'));
  assert.doesNotMatch(text, /--daemon/);
  assert.match(text, new RegExp(`-t ebpfmon:${version.replace(/\./g, '\\.')} `), 'the tag the DaemonSet runs');
  // npm ci installs exactly the lockfile: every package from the registry, none from git, a URL or a file.
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; resolved?: string }> };
  for (const [name, p] of Object.entries(lock.packages)) {
    if (p.resolved !== undefined) assert.match(p.resolved, /^https:\/\/registry\.npmjs\.org\//, name);
    if (name) assert.match(p.version ?? '', /^\d+\.\d+\.\d+/, `${name}: a registry version`);
  }
  const build = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['build'] ?? '';
  assert.doesNotMatch(build, /https?:|curl|wget|npx|git /, 'npm run build runs local tools only');
});
