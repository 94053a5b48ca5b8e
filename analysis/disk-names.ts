// The kernel's names of block devices the bio monitor writes as MAJ:MIN (`254:0` -> `vda`), from
// /sys/dev/block/MAJ:MIN/uevent (DEVNAME=...). They are the analyzing machine's names: right when the files were
// written on this host (or one with the same disks), which the report cannot know, so the number is always shown too.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const sysDevBlock = '/sys/dev/block';

/** MAJ:MIN as ebpfmon writes it. */
const devNumber = /^\d{1,7}:\d{1,7}$/;
/** A name the kernel would give: no path, no control or space characters. */
export const plausibleName = /^[A-Za-z0-9][A-Za-z0-9._+:!-]{0,63}$/;

/** A lookup with a cache (one read per device); `root` null resolves nothing. */
export function diskNames(root: string | null = sysDevBlock): (device: string) => string | null {
  const cache = new Map<string, string | null>();
  return (device) => {
    if (root === null || !devNumber.test(device)) return null;
    let name = cache.get(device);
    if (name === undefined) {
      name = null;
      try {
        const m = /^DEVNAME=(.*)$/m.exec(readFileSync(path.join(root, device, 'uevent'), 'utf8'));
        // DEVNAME is relative to /dev (mapper/x is a symlink name, dm-0 the kernel's); keep what the kernel says.
        if (m?.[1] && plausibleName.test(m[1].replace(/\//g, '!'))) name = m[1];
      } catch {
        name = null;
      }
      if (cache.size < 4096) cache.set(device, name);
    }
    return name;
  };
}
