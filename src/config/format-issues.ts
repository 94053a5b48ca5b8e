// zod issues -> one `path: message` line each, at most a screenful. Issues stay data until here.
import { z } from 'zod';

const pathOf = (path: readonly PropertyKey[]): string => (path.length ? path.map(String).join('.') : '(top level)');

/** At most this many problems are printed; the rest are counted in one last line. */
export const maxProblemLines = 20;
const maxShown = 60;

/** A number as YAML writes it: .inf, -.inf and .nan are numbers in YAML, and JSON would print them as null. */
const yamlNumber = (n: number): string => (Number.isNaN(n) ? '.nan' : n === Infinity ? '.inf' : n === -Infinity ? '-.inf' : String(n));

/**
 * A short rendering of a config value, JSON-like, in time and space bounded by `maxShown` whatever the value's
 * size or depth (a whole 40,000-key mapping can be an issue's input).
 */
export function shown(input: unknown): string {
  if (input === undefined) return 'nothing';
  let out = '';
  const walk = (v: unknown, depth: number): void => {
    if (out.length > maxShown) return;
    if (v === null || v === undefined) out += 'null';
    else if (typeof v === 'number') out += yamlNumber(v);
    else if (typeof v === 'string') out += JSON.stringify(v.length > maxShown ? v.slice(0, maxShown) : v);
    else if (typeof v === 'boolean' || typeof v === 'bigint') out += String(v);
    else if (depth > 4) out += '...';
    else if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && out.length <= maxShown; i++) {
        if (i) out += ',';
        walk(v[i], depth + 1);
      }
      out += ']';
    } else if (typeof v === 'object') {
      out += '{';
      let first = true;
      for (const k in v) {
        if (out.length > maxShown) break;
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(k.length > maxShown ? k.slice(0, maxShown) : k) + ':';
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
      out += '}';
    } else out += String(v);
  };
  walk(input, 0);
  return out.length > maxShown ? out.slice(0, maxShown - 3) + '...' : out;
}

/** The schema inside defaults, optionals and nullables (zod's public unwrap()). */
function unwrap(n: z.ZodType): z.ZodType {
  for (let i = 0; i < 10; i++) {
    if (n instanceof z.ZodDefault || n instanceof z.ZodPrefault || n instanceof z.ZodOptional || n instanceof z.ZodNullable) n = n.unwrap() as z.ZodType;
    else return n;
  }
  return n;
}

/** The keys an object schema accepts at `path`, looking through defaults and optionals. */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (const part of path) {
    const inner = unwrap(node);
    node = inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>)[String(part)] : undefined;
    if (node === undefined) return [];
  }
  const inner = unwrap(node);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/**
 * One line per problem (an unknown key is one problem), at most `max` of them, then `... and N more problems`.
 * Only the lines shown are rendered: 40,000 unknown keys cost no more than 20.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], schema?: z.ZodType, max = maxProblemLines): string[] {
  const lines: string[] = [];
  let total = 0;
  for (const issue of issues) {
    const at = pathOf(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const room = Math.max(0, max - lines.length);
      total += issue.keys.length;
      if (!room) continue;
      const known = schema ? knownKeys(schema, issue.path) : [];
      for (const k of issue.keys.slice(0, room)) {
        const near = suggestKey(k, known);
        const hint = near ? ` (did you mean "${near}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : '';
        lines.push(`${at === '(top level)' ? shownKey(k) : `${at}.${shownKey(k)}`}: unknown key${hint}`);
      }
      continue;
    }
    total++;
    if (lines.length >= max) continue;
    let message = issue.message;
    if (issue.code === 'invalid_value') message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    const nonFinite = 'input' in issue && typeof issue.input === 'number' && !Number.isFinite(issue.input);
    // "expected a path, not an empty string" says what was there already.
    const said = issue.input === '' && message.endsWith('not an empty string');
    const got = 'input' in issue && !said ? `, got ${shown(issue.input)}${nonFinite ? ' (not a finite number)' : ''}` : '';
    lines.push(`${at}: ${message}${got}`);
  }
  if (total > lines.length) lines.push(`... and ${total - lines.length} more problem${total - lines.length === 1 ? '' : 's'}`);
  return lines;
}

/** A key as typed, cut when it is very long (a key can be a whole line of garbage). */
const shownKey = (k: string): string => (k.length > maxShown ? `${k.slice(0, maxShown - 3)}...` : k);

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
