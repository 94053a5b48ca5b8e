// Gate for unit tests that run a system tool (systemd-analyze). Outside CI a missing tool skips the test with the
// package to install; with EBPFMON_REQUIRE_KERNEL=1 (set by `scripts/setup.sh test`) or CI=true it fails instead.
import type { TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';

const required = process.env['EBPFMON_REQUIRE_KERNEL'] === '1' || process.env['CI'] === 'true';

/** True when `command --version` runs; otherwise skips `t` (or throws when tools are required). */
export function toolAvailable(t: TestContext, command: string, debianPackage: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    const why = `needs ${command} (apt-get install -y ${debianPackage}; scripts/setup.sh test installs it)`;
    if (required) throw new Error(`${why} (EBPFMON_REQUIRE_KERNEL=1)`);
    t.skip(why);
    return false;
  }
}
