// The deployment files cannot run here (no Docker engine, no cluster): check their structure instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { repoRoot } from '../helpers/paths.js';

type Obj = Record<string, unknown>;
const get = (o: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[String(k)] : undefined), o);

const docs = parseAllDocuments(readFileSync(path.join(repoRoot, 'config/deploy/daemonset.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
const byKind = (kind: string): Obj => {
  const d = docs.find((x) => x['kind'] === kind);
  assert.ok(d, `a ${kind}`);
  return d;
};

test('the DaemonSet has what bpftrace needs on the host', () => {
  const ds = byKind('DaemonSet');
  const spec = get(ds, 'spec', 'template', 'spec') as Obj;
  assert.equal(spec['hostPID'], true);
  const c = get(spec, 'containers', 0) as Obj;
  assert.equal(get(c, 'securityContext', 'privileged'), true);
  const mounts = (c['volumeMounts'] as Obj[]).map((m) => m['mountPath']);
  for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug', '/sys/fs/bpf', '/etc/ebpfmon']) assert.ok(mounts.includes(p), p);
  const hostPaths = (spec['volumes'] as Obj[]).map((v) => get(v, 'hostPath', 'path')).filter(Boolean);
  for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug', '/sys/fs/bpf']) assert.ok(hostPaths.includes(p), p);
  assert.deepEqual(get(c, 'ports', 0), { name: 'metrics', containerPort: 9464, protocol: 'TCP' });
  assert.equal(get(c, 'livenessProbe', 'httpGet', 'path'), '/metrics');
  assert.ok(get(c, 'resources', 'requests', 'memory'));
  assert.ok(get(c, 'resources', 'limits', 'memory'));
  assert.deepEqual(get(ds, 'spec', 'selector', 'matchLabels'), get(ds, 'spec', 'template', 'metadata', 'labels'));
});

test("the ConfigMap's config is a valid ebpfmon config that serves metrics on the pod's port", () => {
  const cm = byKind('ConfigMap');
  const text = get(cm, 'data', 'monitor_config.yaml');
  assert.equal(typeof text, 'string');
  const config = parseConfig(text as string, 'configmap');
  assert.equal(config.output.prometheus.enabled, true);
  assert.match(config.output.prometheus.listen, /:9464$/);
  const ds = byKind('DaemonSet');
  const volumes = get(ds, 'spec', 'template', 'spec', 'volumes') as Obj[];
  assert.ok(volumes.some((v) => get(v, 'configMap', 'name') === get(cm, 'metadata', 'name')));
});

test('the Dockerfile installs bpftrace from the distribution and runs ebpfmon in the foreground', () => {
  const text = readFileSync(path.join(repoRoot, 'config/deploy/Dockerfile'), 'utf8');
  assert.match(text, /apt-get install[^\n]*\bbpftrace\b/);
  assert.match(text, /ENTRYPOINT \["ebpfmon"\]/);
  assert.doesNotMatch(text, /--daemon/);
});
