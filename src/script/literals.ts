// Strings from config that end up in a generated script: validated by a strict pattern, then quoted.
// The tool runs as root, so nothing from config may ever be pasted raw into bpftrace code.

/** A process name as the kernel stores it: 1..15 bytes, no quotes, backslashes or control characters. */
export const commPattern = /^[A-Za-z0-9_.:+@%=, -]{1,15}$/;

/** A kernel symbol, optionally with `*` wildcards (kprobe:vfs_* style). */
export const kernelSymbolPattern = /^[A-Za-z_*][A-Za-z0-9_.*]{0,127}$/;

/** A path prefix filter: printable, no quotes or backslashes. */
export const pathPattern = /^\/[A-Za-z0-9_./+@%=,:~ -]{0,255}$/;

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
