// config/ebpfmon.service: systemd accepts it, and every hardening option in it is one bpftrace runs under, with
// the reason written down: what the option closes, and what it leaves open that bpftrace needs. systemd cannot run
// here (no systemd as PID 1 on the development machines), so `systemd-analyze verify` checks the file instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { toolAvailable } from '../helpers/tools.js';

const unitText = readFileSync(path.join(repoRoot, 'config/ebpfmon.service'), 'utf8');

/** The unit's [section] -> key -> values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      out.set(s[1]!, (section = new Map()));
      continue;
    }
    const i = line.indexOf('=');
    assert.ok(section && i > 0, `a key=value line inside a section: ${line}`);
    const key = line.slice(0, i);
    section.set(key, [...(section.get(key) ?? []), line.slice(i + 1)]);
  }
  return out;
}
const service = parseUnit(unitText).get('Service') ?? new Map<string, string[]>();

/** [Service] keys that say how the service runs, not what it may do. */
const running = ['Type', 'NotifyAccess', 'TimeoutStartSec', 'ExecStart', 'ExecReload', 'Restart', 'RestartSec', 'RestartPreventExitStatus', 'TimeoutStopSec', 'KillMode', 'StateDirectory', 'StateDirectoryMode', 'WorkingDirectory', 'UMask'];

/** Every hardening option the unit may hold: its value, and why bpftrace still runs (what it leaves open, and why). */
const tolerated: Record<string, { value: string; why: string }> = {
  NoNewPrivileges: { value: 'yes', why: 'bpftrace, setpriv and mount are not set-uid: they run with the capabilities ebpfmon has, and gain none on exec' },
  ProtectSystem: {
    value: 'strict',
    why: 'the file system is read-only, but /proc and /sys stay writable (API file systems): tracefs kprobe_events, kernel.bpf_stats_enabled; /lib/modules (kernel headers) is only read',
  },
  ReadWritePaths: {
    value: '/var/lib/ebpfmon -/sys/kernel/tracing -/sys/kernel/debug',
    why: 'the output directory; tracefs and debugfs, where bpftrace writes kprobe_events on kernels without the kprobe PMU ("-": a kernel without debugfs is no failure)',
  },
  ProtectHome: { value: 'yes', why: 'nothing under /home, /root or /run/user is read' },
  PrivateTmp: { value: 'yes', why: "ebpfmon's script directories (os.tmpdir()) and bpftrace's temporary files are its own" },
  ProtectClock: {
    value: 'yes',
    why: 'bpftrace reads clocks (nsecs, the wall-time offset) and never sets them; the implied DeviceAllow=char-rtc r keeps the pseudo devices (/dev/null) open',
  },
  ProtectHostname: { value: 'yes', why: 'the host name is only read (log lines)' },
  ProtectKernelLogs: {
    value: 'yes',
    why: 'no kernel log is read; it also drops CAP_SYSLOG, and /proc/kallsyms names (not addresses) are all ebpfmon reads from it',
  },
  RestrictRealtime: { value: 'yes', why: 'neither ebpfmon nor bpftrace asks for realtime scheduling' },
  RestrictSUIDSGID: { value: 'yes', why: 'no set-uid file is created' },
  LockPersonality: { value: 'yes', why: 'bpftrace runs in the default personality' },
  ProtectControlGroups: { value: 'yes', why: 'cgroupfs is only read: the cgroup option maps cgroup ids to paths by walking it; nothing writes it' },
  RestrictNamespaces: { value: 'yes', why: 'ebpfmon, setpriv and bpftrace create no namespace; bpf() needs the initial user namespace anyway' },
  SystemCallArchitectures: { value: 'native', why: 'node, setpriv and bpftrace are native x86-64 (or arm64) programs; no 32-bit calls' },
  RestrictAddressFamilies: {
    value: 'AF_UNIX AF_INET AF_INET6',
    why: 'bpftrace opens no socket (bpf() and perf_event_open() are not sockets); AF_INET/AF_INET6 for the Prometheus exporter, AF_UNIX for user name lookups',
  },
  IPAddressAllow: { value: 'localhost', why: "the exporter's default address (127.0.0.1:9464)" },
  IPAddressDeny: { value: 'any', why: 'bpftrace uses no network; serving metrics on another address is a drop-in with IPAddressDeny= (README)' },
  CapabilityBoundingSet: { value: 'CAP_BPF CAP_PERFMON CAP_SYS_ADMIN CAP_SYS_RESOURCE CAP_IPC_LOCK CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH', why: 'each capability below' },
};

/** What each capability in the bounding set is for; anything else root could do is dropped. */
const capabilities: Record<string, string> = {
  CAP_BPF: 'bpf(): load programs and create maps (kernels 5.8+)',
  CAP_PERFMON: 'perf_event_open() on tracepoints and kprobes, and probe reads of kernel memory (kernels 5.8+)',
  CAP_SYS_ADMIN: 'both of the above on kernels before 5.8; mounting tracefs or debugfs where they are not mounted',
  CAP_SYS_RESOURCE: 'raising RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF maps to',
  CAP_IPC_LOCK: 'perf ring buffers (runtime.perf_rb_pages per CPU) beyond perf_event_mlock_kb',
  CAP_DAC_OVERRIDE: 'root is held to file modes without it: an output directory or config owned by an operator account',
  CAP_DAC_READ_SEARCH: 'the same, for reading and searching directories',
};

/** Options left out on purpose, and why. */
const leftOut: Record<string, string> = {
  MemoryDenyWriteExecute: "bpftrace compiles the script with LLVM's JIT, which needs writable and executable memory",
  ProtectKernelTunables: 'makes /proc/sys and /sys read-only: no tracefs mount, no kprobe_events, no kernel.bpf_stats_enabled (self_stats)',
  ProtectKernelModules: 'hides /lib/modules: the kernel headers bpftrace reads on kernels without BTF',
  SystemCallFilter: '@system-service lacks bpf() (@privileged) and perf_event_open() (@debug); checked below',
  PrivateUsers: 'bpftrace needs root and its capabilities in the initial user namespace (bpf() checks them there)',
  DynamicUser: 'the same: bpftrace refuses to run as another user',
  PrivateNetwork: 'the exporter would listen where no Prometheus can reach it',
  PrivateDevices: 'also drops CAP_SYS_RAWIO and blocks the @raw-io calls; not tried under systemd yet, so not claimed',
};

test('every [Service] option is known here: how it runs, or hardening bpftrace tolerates with its reason', () => {
  for (const [key, values] of service) {
    if (running.includes(key)) continue;
    const ok = tolerated[key];
    assert.ok(ok, `${key}: a hardening option must be in the table with the reason bpftrace runs under it`);
    assert.equal(values.join(' '), ok.value, `${key}: the value the table vouches for`);
    assert.ok(ok.why.length > 20, key);
  }
  for (const key of Object.keys(leftOut)) assert.ok(!service.has(key), `${key} is in the unit, but: ${leftOut[key]}`);
  // The capabilities bpftrace needs are there, and nothing beyond the table.
  const caps = (service.get('CapabilityBoundingSet') ?? []).join(' ').split(/\s+/);
  assert.deepEqual([...caps].sort(), Object.keys(capabilities).sort());
  assert.equal(service.get('ExecStart')?.[0]?.split(' ')[0], '/usr/local/bin/ebpfmon');
  assert.doesNotMatch(service.get('ExecStart')?.[0] ?? '', /--daemon/, 'systemd supervises a foreground process');
  // Started means attached: ebpfmon sends READY=1 (src/daemon/sd-notify.ts), through a child process.
  assert.deepEqual([service.get('Type'), service.get('NotifyAccess')], [['notify'], ['all']]);
  // Bad config (2) and an unusable host (3) are not healed by a restart every 5 s.
  assert.deepEqual(service.get('RestartPreventExitStatus'), ['2 3']);
});

test('the documentation (docs/operations.md) names every option the unit holds and every one it leaves out', () => {
  const readme = readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8');
  const start = readme.indexOf('### Running as a service');
  assert.ok(start >= 0, 'docs/operations.md has the section');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  for (const key of [...Object.keys(tolerated), ...Object.keys(leftOut)]) assert.ok(section.includes(`\`${key}`), `docs/operations.md mentions ${key}`);
});

/** Runs systemd-analyze; the output of both streams, since verify reports most mistakes with exit code 0. */
function analyze(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

test('systemd-analyze verify accepts the unit (ExecStart pointed at the built CLI), and would catch a typo', (t) => {
  if (!toolAvailable(t, 'systemd-analyze', 'systemd')) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ebpfmon-unit-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // verify checks that ExecStart's program exists and is executable: node, running the CLI this test was built with.
  const text = unitText.replace(/^ExecStart=\/usr\/local\/bin\/ebpfmon /m, `ExecStart=${process.execPath} ${cliPath} `);
  assert.notEqual(text, unitText);
  const file = path.join(dir, 'ebpfmon.service');
  writeFileSync(file, text);
  const ok = analyze(['verify', '--man=no', file]);
  assert.deepEqual(ok, { status: 0, output: '' });
  // An unknown key and a bad value only print a warning (exit 0): the output is what tells.
  writeFileSync(file, text.replace('ProtectSystem=', 'ProtectSystm=').replace('ProtectHome=yes', 'ProtectHome=maybe'));
  const bad = analyze(['verify', '--man=no', file]);
  assert.match(bad.output, /Unknown key.*ProtectSystm/);
  assert.match(bad.output, /ProtectHome|protect home/i);
  // And the original, with its real ExecStart, fails only for the missing /usr/local/bin/ebpfmon.
  writeFileSync(file, unitText);
  assert.match(analyze(['verify', '--man=no', file]).output, /\/usr\/local\/bin\/ebpfmon is not executable|No such file/);
});

test('systemd-analyze security: the exposure of the installed unit stays at 4.8 or below (5.7 before notify and the last hardening)', (t) => {
  if (!toolAvailable(t, 'systemd-analyze', 'systemd')) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ebpfmon-unit-security-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ebpfmon.service');
  writeFileSync(file, unitText.replace(/^ExecStart=\/usr\/local\/bin\/ebpfmon /m, `ExecStart=${process.execPath} ${cliPath} `));
  const r = analyze(['security', '--offline=true', '--no-pager', file]);
  const m = /Overall exposure level for ebpfmon\.service: (\d+\.\d)/.exec(r.output);
  assert.ok(m, r.output);
  assert.ok(Number(m[1]) <= 4.8, `exposure ${m[1]}`);
});

test("systemd knows every capability in the bounding set; @system-service lacks bpf() and perf_event_open()", (t) => {
  if (!toolAvailable(t, 'systemd-analyze', 'systemd')) return;
  for (const cap of Object.keys(capabilities)) assert.equal(analyze(['capability', cap]).status, 0, cap);
  // Expand the group the way systemd does: @name entries are groups of their own.
  const calls = new Set<string>();
  const seen = new Set<string>();
  const expand = (group: string): void => {
    if (seen.has(group)) return;
    seen.add(group);
    const r = analyze(['syscall-filter', group]);
    assert.equal(r.status, 0, r.output);
    for (const line of r.output.split('\n').slice(1)) {
      const item = line.trim();
      if (!item || item.startsWith('#')) continue;
      if (item.startsWith('@')) expand(item);
      else calls.add(item);
    }
  };
  expand('@system-service');
  assert.ok(calls.has('read') && calls.has('openat'), 'the expansion found the ordinary calls');
  assert.ok(!calls.has('bpf'), 'bpf');
  assert.ok(!calls.has('perf_event_open'), 'perf_event_open');
});
