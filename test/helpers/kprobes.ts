// Gate for tests that need kprobes (the func monitor, exec's kprobe variant), on top of kernelAvailable. Outside the
// kprobe CI they skip with a reason; with EBPFMON_REQUIRE_KPROBES=1 (set by scripts/ci/kprobe-kernels.sh in its
// guests) a kernel without kprobes fails the test instead. CI=true alone does not require them: the main CI machine's
// kernel has none, and these tests run in QEMU guests that have them.
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { kernelAvailable } from './kernel.js';

const required = process.env['EBPFMON_REQUIRE_KPROBES'] === '1';

/** What ebpfmon itself looks for (src/plan/capabilities.ts): kprobe_events in tracefs. */
const hasKprobes = (): boolean => existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');

/** True when root, bpftrace, tracefs and kprobes are there; otherwise skips `t` (or throws when they are required). */
export function kprobesAvailable(t: TestContext): boolean {
  if (!kernelAvailable(t)) return false;
  if (hasKprobes()) return true;
  const why = 'needs a kernel with kprobes (no kprobe_events in tracefs: CONFIG_KPROBES is off); scripts/ci/kprobe-kernels.sh runs these tests on Debian kernels that have them';
  if (required) throw new Error(`kprobe test cannot run: ${why} (EBPFMON_REQUIRE_KPROBES=1)`);
  t.skip(why);
  return false;
}
