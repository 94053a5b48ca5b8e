// `ebpfmon check`: what this machine offers and, per monitor, ready / fallback / unavailable.
import { defaultConfigPath, loadConfig } from '../../config/load.js';
import { detectCapabilities, type Capabilities } from '../../plan/capabilities.js';
import { buildPlan, type Verdict } from '../../plan/plan.js';
import { monitorNames } from '../../monitors/registry.js';
import { version } from '../../version.js';

export interface CheckReport {
  ebpfmon: string;
  runnable: boolean;
  privileges: Capabilities['root'];
  kernel: string;
  arch: string;
  bpftrace: Capabilities['bpftrace'];
  tracefs: Capabilities['tracefs'];
  debugfs: Capabilities['debugfs'];
  kprobes: Capabilities['kprobes'];
  btf: Capabilities['btf'];
  monitors: Verdict[];
}

export async function runCheck(opts: { config?: string | undefined }): Promise<CheckReport> {
  const config = await loadConfig(opts.config ?? defaultConfigPath());
  const caps = await detectCapabilities({ bpftrace: config.runtime.bpftrace, mount: true });
  const plan = buildPlan(config, monitorNames(), caps);
  return {
    ebpfmon: version,
    runnable: caps.root.ok && caps.bpftrace.version !== null && caps.tracefs.path !== null,
    privileges: caps.root,
    kernel: caps.kernel,
    arch: caps.arch,
    bpftrace: caps.bpftrace,
    tracefs: caps.tracefs,
    debugfs: caps.debugfs,
    kprobes: caps.kprobes,
    btf: caps.btf,
    monitors: plan.verdicts,
  };
}

export function renderCheck(r: CheckReport): string {
  const mark = (ok: boolean): string => (ok ? 'ok ' : 'NO ');
  const lines = [
    `ebpfmon ${r.ebpfmon} capability check`,
    `  privileges  ${mark(r.privileges.ok)} ${r.privileges.detail}`,
    `  kernel      ok  Linux ${r.kernel} (${r.arch})`,
    `  bpftrace    ${mark(r.bpftrace.version !== null && r.bpftrace.path !== null)} ${r.bpftrace.detail}`,
    `  tracefs     ${mark(r.tracefs.path !== null)} ${r.tracefs.detail}`,
    `  debugfs     ${mark(r.debugfs.ok)} ${r.debugfs.detail}`,
    `  kprobes     ${mark(r.kprobes.ok)} ${r.kprobes.detail}`,
    `  btf         ${mark(r.btf.ok)} ${r.btf.detail}`,
    '',
    'monitors:',
  ];
  for (const v of r.monitors) {
    const status = v.status === 'fallback' ? 'ready (fallback)' : v.status;
    lines.push(`  ${v.monitor.padEnd(15)} ${status.padEnd(17)} ${v.variant ? `${v.variant}: ` : ''}${v.detail}`);
  }
  lines.push('', r.runnable ? 'verdict: this machine can run ebpfmon' : 'verdict: this machine cannot run ebpfmon (see NO above)');
  return lines.join('\n');
}
