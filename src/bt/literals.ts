// Strings from config that end up in a generated script: validated by a strict pattern, then quoted.
// The tool runs as root, so nothing from config may ever be pasted raw into bpftrace code.

/** A process name as the kernel stores it: 1..15 bytes, no quotes, backslashes or control characters. */
export const commPattern = /^[A-Za-z0-9_.:+@%=, -]{1,15}$/;

/** A kernel symbol, optionally with `*` wildcards (kprobe:vfs_* style). */
export const kernelSymbolPattern = /^[A-Za-z_*][A-Za-z0-9_.*]{0,127}$/;

/** A path prefix filter: printable, no quotes or backslashes. */
export const pathPattern = /^\/[A-Za-z0-9_./+@%=,:~ -]{0,255}$/;

/** A `..` segment: a prefix holding one would be compared as written, never resolved. */
export const dotDotSegment = /(^|\/)\.\.(\/|$)/;

/**
 * A configured path prefix as a path is usually written: `//` and `/./` collapsed (`//tmp/./x` -> `/tmp/x`). A
 * trailing `/.` stays: as a literal prefix it means names starting with a dot.
 */
export function normalizePathPrefix(prefix: string): string {
  let p = prefix.replace(/\/{2,}/g, '/');
  while (p.includes('/./')) p = p.replace('/./', '/');
  return p;
}

/** A bpftrace string literal. Throws on characters a pattern should already have refused. */
export function quote(s: string): string {
  if (/["\\\n\r\t\0]/.test(s) || /[^\x20-\x7e]/.test(s)) {
    throw new Error(`refusing to quote unsafe string for a bpftrace script: ${JSON.stringify(s)}`);
  }
  return `"${s}"`;
}

/** The interval probe for a period in seconds: whole seconds use `s`, the rest `ms`. */
export function intervalProbe(seconds: number): string {
  return Number.isInteger(seconds) ? `interval:s:${seconds}` : `interval:ms:${Math.max(1, Math.round(seconds * 1000))}`;
}
