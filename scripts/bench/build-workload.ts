// The build-server workload of the overhead benchmark's second scenario: compile 40 generated C files with
// `gcc -O2 -c`, two at a time; archive /usr/share/doc (`tar | gzip -1`); search /usr/include (`grep -r -l`).
// Self-contained: the sources are generated here, the tools are the distribution's, nothing goes to the network.
// A bash driver runs the phases and prints, after each, the time ($EPOCHREALTIME) and bash's `times` (the
// CPU of the children it waited for, their own children included), so each phase has its wall time and the
// user+sys CPU seconds it took.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const buildPhases = ['compile', 'archive', 'search'] as const;
export type BuildPhase = (typeof buildPhases)[number];

export interface PhaseCost {
  /** Wall seconds. */
  wall: number;
  /** User and system CPU seconds of the phase's processes. */
  user: number;
  sys: number;
}

export type BuildTiming = Record<BuildPhase | 'total', PhaseCost>;

/** How many C files the compile phase builds. */
export const sourceCount = 40;

const headerSets = [
  ['stdio.h', 'stdlib.h', 'string.h'],
  ['stdio.h', 'stdlib.h', 'string.h', 'ctype.h'],
  ['stdio.h', 'stdlib.h', 'string.h', 'math.h'],
  ['stdio.h', 'stdlib.h', 'string.h', 'stdint.h', 'limits.h'],
] as const;

/** Function groups per generated file: enough that the compile phase takes about half the workload here. */
export const groupsPerFile = 4;

/** One group of functions, numbered `k` (unique over all files), its identifiers suffixed with `id`. */
function group(id: string, k: number): string[] {
  const n = 8 + (k % 7);
  const seed = 2654435761 + k * 97;
  const items = 64 + (k % 32);
  return [
    `struct item${id} { char name[24]; long weight; double score; };`,
    '',
    `static unsigned long hash${id}(const char *s) {`,
    `  unsigned long h = ${seed}UL;`,
    '  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211UL;',
    '  return h;',
    '}',
    '',
    `static int by_weight${id}(const void *a, const void *b) {`,
    `  const struct item${id} *x = a, *y = b;`,
    '  if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;',
    '  return strcmp(x->name, y->name);',
    '}',
    '',
    `void matmul${id}(const double *a, const double *b, double *c) {`,
    `  for (int r = 0; r < ${n}; r++)`,
    `    for (int k = 0; k < ${n}; k++) {`,
    `      double s = 0;`,
    `      for (int j = 0; j < ${n}; j++) s += a[r * ${n} + j] * b[j * ${n} + k];`,
    `      c[r * ${n} + k] = s;`,
    '    }',
    '}',
    '',
    `long parse_list${id}(const char *text, long *out, size_t max) {`,
    '  size_t n = 0;',
    '  char *end;',
    '  while (*text && n < max) {',
    '    long v = strtol(text, &end, 10);',
    '    if (end == text) { text++; continue; }',
    `    out[n++] = v * ${(k % 5) + 1} + ${k};`,
    '    text = end;',
    '  }',
    '  return (long)n;',
    '}',
    '',
    `int state_machine${id}(const char *s) {`,
    '  int state = 0, count = 0;',
    '  for (; *s; s++) {',
    '    switch (state) {',
    "    case 0: state = (*s == '/') ? 1 : 0; break;",
    "    case 1: state = (*s == '*') ? 2 : 0; break;",
    "    case 2: if (*s == '*') state = 3; break;",
    "    case 3: if (*s == '/') { state = 0; count++; } else if (*s != '*') state = 2; break;",
    '    }',
    '  }',
    '  return count;',
    '}',
    '',
    `int run${id}(int argc, char **argv) {`,
    `  struct item${id} *items = calloc(${items}, sizeof *items);`,
    '  if (!items) return 1;',
    `  for (int k = 0; k < ${items}; k++) {`,
    `    snprintf(items[k].name, sizeof items[k].name, "item-%d-%d", ${k}, k);`,
    `    items[k].weight = (long)(hash${id}(items[k].name) % 1000);`,
    '    items[k].score = items[k].weight / 3.0;',
    '  }',
    `  qsort(items, ${items}, sizeof *items, by_weight${id});`,
    `  double a[${n * n}], b[${n * n}], c[${n * n}];`,
    `  for (int k = 0; k < ${n * n}; k++) { a[k] = k * 0.5; b[k] = ${n * n} - k; }`,
    `  matmul${id}(a, b, c);`,
    '  long vals[16];',
    `  long got = parse_list${id}(argc > 1 ? argv[1] : "1 2 3", vals, 16);`,
    `  int comments = state_machine${id}(argc > 2 ? argv[2] : "/* a */ b /* c */");`,
    '  printf("%s %ld %g %ld %d\\n", items[0].name, got, c[0], vals[0], comments);',
    '  free(items);',
    '  return 0;',
    '}',
    '',
  ];
}

/**
 * The i-th generated C file: a few standard headers and groups of functions (a table with qsort, a string hash,
 * a matrix product, a small parser, a state machine), with constants that differ per group so that no two files
 * are the same. Enough for -O2 to inline, unroll and vectorise: real compiler work, no linking.
 */
export function cSource(i: number): string {
  const headers = headerSets[i % headerSets.length]!;
  const groups = Array.from({ length: groupsPerFile }, (_, v) => group(`${i}_${v}`, i * groupsPerFile + v));
  return [`/* Generated by ebpfmon's build benchmark: file ${i}. */`, ...headers.map((h) => `#include <${h}>`), '', ...groups.flat()].join('\n');
}

/** The bash driver: `build.sh SRC_DIR OBJ_DIR`. Prints "mark <phase> <epoch seconds>" and `times` after each phase. */
export const driverScript = [
  '#!/bin/bash',
  '# The build workload of ebpfmon\'s overhead benchmark: compile, archive, search. After each phase: the time and',
  '# `times` (line 1: this shell; line 2: the children it waited for, with their own children).',
  'set -euo pipefail',
  'src=$1 obj=$2',
  'mark() { echo "mark $1 $EPOCHREALTIME"; times; }',
  'mark start',
  'cd "$src"',
  'printf \'%s\\n\' *.c | xargs -P2 -I{} gcc -O2 -c {} -o "$obj/{}.o"',
  'mark compile',
  'tar -C / -cf - usr/share/doc | gzip -1 > /dev/null',
  'mark archive',
  'grep -r -l define /usr/include > /dev/null',
  'mark search',
  '',
].join('\n');

/** Seconds of one `times` field: "1m2.345s" -> 62.345. */
export function timesSeconds(field: string): number {
  const m = /^(\d+)m(\d+(?:\.\d+)?)s$/.exec(field.trim());
  if (!m) throw new Error(`not a bash times field: ${JSON.stringify(field)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

interface Mark {
  phase: string;
  at: number;
  user: number;
  sys: number;
}

/** The driver's output -> per phase wall and children's CPU, and the total. Throws on anything else. */
export function parseBuildOutput(text: string): BuildTiming {
  const lines = text.split('\n');
  const marks: Mark[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^mark (\S+) (\d+(?:\.\d+)?)$/.exec(lines[i]!.trim());
    if (!m) continue;
    // `times` prints two lines: the shell's own user and sys, then its children's.
    const children = lines[i + 2]?.trim().split(/\s+/) ?? [];
    if (children.length !== 2) throw new Error(`no \`times\` output after "${lines[i]}"`);
    marks.push({ phase: m[1]!, at: Number(m[2]), user: timesSeconds(children[0]!), sys: timesSeconds(children[1]!) });
  }
  const names = marks.map((m) => m.phase);
  const want = ['start', ...buildPhases];
  if (names.join(',') !== want.join(',')) throw new Error(`expected marks ${want.join(', ')}; got ${names.join(', ') || 'none'}`);
  const between = (a: Mark, b: Mark): PhaseCost => ({ wall: b.at - a.at, user: b.user - a.user, sys: b.sys - a.sys });
  const out = { total: between(marks[0]!, marks[marks.length - 1]!) } as BuildTiming;
  buildPhases.forEach((p, k) => (out[p] = between(marks[k]!, marks[k + 1]!)));
  return out;
}

/** CPU seconds (user + sys) of a phase. */
export const cpuOf = (c: PhaseCost): number => c.user + c.sys;

export interface BuildWorkload {
  dir: string;
  /** Runs the three phases once; throws when a phase fails. */
  run(): Promise<BuildTiming>;
}

/** Writes the sources and the driver into `dir` (once); `run()` then builds them. */
export async function prepareBuild(dir: string): Promise<BuildWorkload> {
  const src = path.join(dir, 'src');
  const obj = path.join(dir, 'obj');
  await mkdir(src, { recursive: true });
  await mkdir(obj, { recursive: true });
  for (let i = 0; i < sourceCount; i++) await writeFile(path.join(src, `unit${String(i).padStart(2, '0')}.c`), cSource(i));
  const driver = path.join(dir, 'build.sh');
  await writeFile(driver, driverScript, { mode: 0o755 });
  return {
    dir,
    run: async () => {
      const r = await execFileP('bash', [driver, src, obj], { maxBuffer: 1 << 20, env: { ...process.env, LC_ALL: 'C' } });
      return parseBuildOutput(r.stdout);
    },
  };
}
