// zod issues -> one `path: message` line each. Issues stay data until here.
import type { z } from 'zod';

const pathOf = (path: readonly PropertyKey[]): string => (path.length ? path.map(String).join('.') : '(top level)');

function shown(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  const s = JSON.stringify(input);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** The keys an object schema accepts at `path`, looking through defaults and optionals. */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (n as { _zod?: { def?: { innerType?: unknown } } })._zod?.def;
      if (def?.innerType === undefined) return n;
      n = def.innerType;
    }
    return n;
  };
  for (const part of path) {
    const shape = (unwrap(node) as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def?.shape;
    node = shape?.[String(part)];
    if (node === undefined) return [];
  }
  const shape = (unwrap(node) as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], schema?: z.ZodType): string[] {
  return issues.map((issue) => {
    const at = pathOf(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeys(schema, issue.path) : [];
      return issue.keys
        .map((k) => {
          const near = suggestKey(k, known);
          const hint = near ? ` (did you mean "${near}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : '';
          return `${at === '(top level)' ? k : `${at}.${k}`}: unknown key${hint}`;
        })
        .join('\n');
    }
    const got = 'input' in issue ? `, got ${shown(issue.input)}` : '';
    let message = issue.message;
    if (issue.code === 'invalid_value') message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    return `${at}: ${message}${got}`;
  });
}

/** Unknown keys next to the known ones, to suggest the likely typo. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(unknown, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
