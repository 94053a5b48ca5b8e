// Gate for tests that need root and a working bpftrace. Outside CI they skip with a reason;
// with EBPFMON_REQUIRE_KERNEL=1 (or CI=true) a missing prerequisite fails the test instead.
import type { TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const required = process.env['EBPFMON_REQUIRE_KERNEL'] === '1' || process.env['CI'] === 'true';

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    execFileSync('bpftrace', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'needs bpftrace (apt-get install -y bpftrace)';
  }
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    // ebpfmon mounts tracefs itself; tests that call bpftrace directly need it too.
    try {
      execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing'], { stdio: 'pipe' });
    } catch {
      return 'needs tracefs';
    }
  }
  return null;
}

let cached: string | null | undefined;

/** True when the kernel tests can run; otherwise skips `t` (or throws when they are required). */
export function kernelAvailable(t: TestContext): boolean {
  if (cached === undefined) cached = missing();
  if (cached === null) return true;
  if (required) throw new Error(`kernel test cannot run: ${cached} (EBPFMON_REQUIRE_KERNEL=1)`);
  t.skip(cached);
  return false;
}
