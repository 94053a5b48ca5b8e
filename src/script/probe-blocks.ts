// Rewrites of generated probe text, one top-level probe block at a time. A block starts with a line that has no
// indent and ends in "{" (attach points, optional predicate), and ends with a line that is exactly "}": the
// layout every monitor's fragment uses. The header line (and so the predicate) is never rewritten.

/** `probes` with each block's body lines replaced by `fn(body)`. */
export function mapProbeBodies(probes: string, fn: (body: string[]) => string[]): string {
  const out: string[] = [];
  let body: string[] | null = null;
  for (const line of probes.split('\n')) {
    if (body === null) {
      out.push(line);
      if (/^\S.*\{$/.test(line)) body = [];
    } else if (line === '}') {
      out.push(...fn(body), line);
      body = null;
    } else body.push(line);
  }
  if (body) out.push(...body);
  return out.join('\n');
}

/** The variable that holds tracepoint field F in a probe body: `$tp_F`. */
export const fieldVariable = (field: string): string => `$tp_${field}`;

/**
 * Start-up time: bpftrace 0.17 re-reads the kernel's whole tracepoint list (available_events, 0.5 ms a read
 * here) for every `args` and every field access on it, once per semantic pass. The full script named fields
 * 108 times: 2,258 reads, 0.9 s of system time before the first probe attached. A field a probe body uses more
 * than once is now read once at the top of the body into `$tp_<field>` (the same direct read of the probe's
 * context), and the body uses the variable. Predicates keep `args->` (a predicate cannot see the body's
 * variables); a field used once stays inline, where it costs the same.
 */
export function hoistArgs(probes: string): string {
  return mapProbeBodies(probes, (body) => {
    const uses = new Map<string, number>();
    for (const l of body) for (const m of l.matchAll(/\bargs->(\w+)/g)) uses.set(m[1]!, (uses.get(m[1]!) ?? 0) + 1);
    const hoisted = [...uses].filter(([, n]) => n > 1).map(([f]) => f);
    if (!hoisted.length) return body;
    const field = new RegExp(`\\bargs->(${hoisted.join('|')})\\b`, 'g');
    return [...hoisted.map((f) => `  ${fieldVariable(f)} = args->${f};`), ...body.map((l) => l.replace(field, (_all, f: string) => fieldVariable(f)))];
  });
}
