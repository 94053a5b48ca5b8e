// Declarations -> bpftrace text. Compose decides the layout of result maps (double-buffered, sharded); this module
// renders statements under that layout, so a monitor never needs to know about it.
import type { Field, Fragment, KeyPart, PrintfDecl, Probe, ResultMap, Stmt } from './ir.js';
import { walk } from './ir.js';

/**
 * How result maps are laid out in the kernel. Both are decided in one place (compose) and read back by the router
 * through `copiesOf`, never from script text.
 * - double: two copies of each result map (@x and @x_b) and a flag @<monitor>_gen[0] flipped by the interval probe:
 *   updates go to one copy while the other is printed and cleared (print and clear run in user space, and an event
 *   landing between them would be lost).
 * - shards: bpftrace-aotrt 0.17 ignores BPFTRACE_MAP_KEYS_MAX, so every map holds 4,096 keys; a per-process map is
 *   split into this many maps by its pid part (a power of two), which multiplies what it can hold.
 */
export interface Layout {
  double: boolean;
  shards: number;
}


/** The kernel refuses a BPF program that uses more than 64 maps (MAX_USED_MAPS). */
export const maxMapsPerProgram = 64;

/** Kernel maps a probe of this fragment can use beyond its result maps: its helpers, the flag, the output buffer. */
const otherMaps = (f: Fragment): number => f.helpers.length + 3;

/** The kernel maps one probe's updates write under a layout. */
function resultCopiesUsed(p: Probe, layout: Layout): number {
  const maps = new Set<ResultMap>();
  for (const st of walk(p.body)) if (st.s === 'update') maps.add(st.map);
  return [...maps].reduce((n, m) => n + copiesOf(m, layout).length, 0);
}

/**
 * A monitor's own layout: the process's, with as many shards as its busiest probe can use within the kernel's
 * limit of maps per program (bio's completion updates seven maps: double-buffered, 4 shards of each fit, 8 do not).
 */
export function monitorLayout(fragment: Fragment, layout: Layout): Layout {
  let shards = layout.shards;
  const fits = (s: number): boolean => fragment.probes.every((p) => resultCopiesUsed(p, { ...layout, shards: s }) + otherMaps(fragment) <= maxMapsPerProgram);
  while (shards > 1 && !fits(shards)) shards /= 2;
  if (!fits(shards)) throw new Error(`a probe uses more than ${maxMapsPerProgram} maps even without shards`);
  return { ...layout, shards };
}

/** The suffix of the second copy of a double-buffered map. */
export const secondCopySuffix = '_b';

const sharded = (map: ResultMap, layout: Layout): boolean => layout.shards > 1 && map.key.parts.some((p) => p.shard);

/** The name of one copy: generation 1 is the second buffer; a shard index is appended when the map is sharded. */
export function copyName(map: ResultMap, gen: 0 | 1, shard: number, layout: Layout): string {
  return `${map.name}${gen ? secondCopySuffix : ''}${sharded(map, layout) ? `_s${shard}` : ''}`;
}

/** Every kernel map a result map is laid out as, by generation. */
export function copiesOf(map: ResultMap, layout: Layout): { gen: 0 | 1; name: string }[] {
  const shards = sharded(map, layout) ? layout.shards : 1;
  const gens: (0 | 1)[] = layout.double ? [0, 1] : [0];
  return gens.flatMap((gen) => Array.from({ length: shards }, (_, s) => ({ gen, name: copyName(map, gen, s, layout) })));
}

/** The flag of a monitor's double buffer, and the local a probe reads it into once. */
export const genFlag = (monitor: string): string => `@${monitor}_gen[0]`;
/** How many times the flag has flipped: each tick carries it, so END can say whether the last flip's print arrived. */
export const flipCount = (monitor: string): string => `@${monitor}_flips[0]`;
const genLocal = (monitor: string): string => `$${monitor}_gen`;

/**
 * How free text is written into a map key: as it is, or (bpftrace 0.24+, whose JSON drops every space of a key) cast to
 * a byte array of its full size: a comm is 16 bytes, a str() result `strlen` bytes.
 */
export interface KeyText {
  text: 'text' | 'bytes';
  strlen: number;
}

/** Free text as it is: what bpftrace up to 0.23 prints byte for byte. */
export const plainKeys: KeyText = { text: 'text', strlen: 0 };

/** Bytes of a text key part under `bytes`: str()'s size, else a comm's (TASK_COMM_LEN). */
export const textPartBytes = (part: KeyPart, strlen: number): number => (part.fromStr ? strlen : 16);

export interface RenderCtx {
  monitor: string;
  layout: Layout;
  /** How text key parts are written (default: as they are). */
  keys?: KeyText;
  /** Shard expressions a probe computed once into a local (see renderProbe), by expression. */
  shardLocals?: ReadonlyMap<string, string>;
  /** The run's process scope as conditions over a process id and a name (none: the whole host). */
  scope?: (pid: string, comm: string) => string[];
}

const aggregate = (map: ResultMap, arg: string | null): string => (map.agg === 'count' ? 'count()' : `${map.agg}(${arg ?? ''})`);
const partText = (p: KeyPart, keys: KeyText): string => (p.kind === 'text' && keys.text === 'bytes' ? `(uint8[${textPartBytes(p, keys.strlen)}])${p.expr}` : p.expr);
const keyText = (map: ResultMap, keys: KeyText): string => (map.key.parts.length ? `[${map.key.parts.map((p) => partText(p, keys)).join(', ')}]` : '');

/** One update under the layout: one line, or a choice of copy by generation and shard. */
function renderUpdate(map: ResultMap, arg: string | null, indent: string, ctx: RenderCtx): string[] {
  const assign = (gen: 0 | 1, shard: number): string => `${copyName(map, gen, shard, ctx.layout)}${keyText(map, ctx.keys ?? plainKeys)} = ${aggregate(map, arg)};`;
  const byShard = (gen: 0 | 1, ind: string): string[] => {
    if (!sharded(map, ctx.layout)) return [`${ind}${assign(gen, 0)}`];
    const part = map.key.parts.find((p) => p.shard)!;
    const n = ctx.layout.shards;
    const local = ctx.shardLocals?.get(part.expr);
    const shardOf = local ?? `(${part.expr} & ${n - 1})`;
    return Array.from({ length: n }, (_, s) =>
      s === n - 1 ? `${ind}else { ${assign(gen, s)} }` : `${ind}${s ? 'else if' : 'if'} (${shardOf} == ${s}) { ${assign(gen, s)} }`,
    );
  };
  if (!ctx.layout.double) return byShard(0, indent);
  return [`${indent}if (${genLocal(ctx.monitor)}) {`, ...byShard(1, indent + '  '), `${indent}} else {`, ...byShard(0, indent + '  '), `${indent}}`];
}

/** A printf record of this monitor: `<monitor>\t<tag>\t<fields>`. */
export function renderPrintf(monitor: string, p: PrintfDecl, indent: string): string {
  const fmt = [monitor, p.tag, ...p.fields.map((f: Field) => f.fmt)].join('\\t');
  return `${indent}printf("${fmt}\\n"${p.fields.map((f) => `, ${f.expr}`).join('')});`;
}

export function renderBody(body: readonly Stmt[], indent: string, ctx: RenderCtx): string[] {
  const out: string[] = [];
  for (const st of body) {
    switch (st.s) {
      case 'let':
        out.push(`${indent}${st.name} = ${st.expr};`);
        break;
      case 'update':
        out.push(...renderUpdate(st.map, st.arg, indent, ctx));
        break;
      case 'set':
        out.push(`${indent}${st.map.at(...st.key)} = ${st.expr};`);
        break;
      case 'delete':
        out.push(`${indent}delete(${st.map.at(...st.key)});`);
        break;
      case 'emit':
        out.push(renderPrintf(ctx.monitor, st.printf, indent));
        break;
      case 'exit':
        out.push(`${indent}exit();`);
        break;
      case 'scope': {
        const conds = ctx.scope?.(st.pid, st.comm) ?? [];
        if (!conds.length) out.push(...renderBody(st.then, indent, ctx));
        else out.push(`${indent}if (${conds.join(' && ')}) {`, ...renderBody(st.then, indent + '  ', ctx), `${indent}}`);
        break;
      }
      case 'if': {
        out.push(`${indent}if (${st.cond}) {`, ...renderBody(st.then, indent + '  ', ctx));
        // An else holding a single if reads as `else if`: the shape of a ladder (bio's latency buckets).
        let rest = st.else;
        while (rest.length === 1 && rest[0]!.s === 'if') {
          const inner = rest[0]!;
          out.push(`${indent}} else if (${inner.cond}) {`, ...renderBody(inner.then, indent + '  ', ctx));
          rest = inner.else;
        }
        if (rest.length) out.push(`${indent}} else {`, ...renderBody(rest, indent + '  ', ctx));
        out.push(`${indent}}`);
        break;
      }
    }
  }
  return out;
}

/**
 * The shard expressions of a probe's sharded updates that are builtins (`pid`), each with the local the probe reads
 * it into once. Each use of `pid` is a helper call: choosing among 8 shards compared `(pid & 7)` up to 8 times per
 * event, twice in the syscall probe (count, errors). Read once: the syscall program 320-349 -> 270-281 ns per
 * getppid (bpf_stats, 4 interleaved pairs). An expression over a local (bio's `$pid`, set in the body) stays inline.
 */
function shardLocalsOf(p: Probe, ctx: RenderCtx): Map<string, string> {
  const exprs = new Set<string>();
  for (const st of walk(p.body)) {
    if (st.s !== 'update' || !sharded(st.map, ctx.layout)) continue;
    const expr = st.map.key.parts.find((k) => k.shard)!.expr;
    if (!expr.startsWith('$')) exprs.add(expr);
  }
  return new Map([...exprs].map((e, i) => [e, `$${ctx.monitor}_shard${i ? i : ''}`]));
}

/**
 * A probe: attach points, predicate, body. With a double buffer, a body that updates reads the flag once first;
 * with shards, it computes the shard of a builtin once first.
 */
export function renderProbe(p: Probe, ctx: RenderCtx): string {
  const updates = [...walk(p.body)].some((st) => st.s === 'update');
  const flag = ctx.layout.double && updates ? [`  ${genLocal(ctx.monitor)} = ${genFlag(ctx.monitor)};`] : [];
  const shardLocals = shardLocalsOf(p, ctx);
  const shards = [...shardLocals].map(([expr, local]) => `  ${local} = ${expr} & ${ctx.layout.shards - 1};`);
  // The run's scope goes first: an event outside it is left before the probe's own (costlier) conditions.
  const filter = [...(p.task ? (ctx.scope?.('pid', 'comm') ?? []) : []), ...p.filter];
  const head = `${p.attach.join(',\n')}${filter.length ? ` /${filter.join(' && ')}/` : ''} {`;
  return [...(p.comment ? [`// ${p.comment}`] : []), head, ...flag, ...shards, ...renderBody(p.body, '  ', { ...ctx, shardLocals }), '}'].join('\n');
}

const printAndClear = (names: readonly string[], indent: string): string[] => names.flatMap((n) => [`${indent}print(${n});`, `${indent}clear(${n});`]);

/** The tick of an interval: its kernel time and the flip it follows (0 without a double buffer). */
const tickLine = (monitor: string, layout: Layout, indent: string): string =>
  `${indent}printf("${monitor}\\ttick\\t%llu\\t%llu\\n", nsecs, ${layout.double ? flipCount(monitor) : '0'});`;
/** Marks the prints that follow in END as the copy retired at flip N (see renderFinalFlush). */
const retiredLine = (monitor: string, indent: string): string => `${indent}printf("${monitor}\\tretired\\t%llu\\n", ${flipCount(monitor)});`;

/**
 * The interval flush of one monitor's result maps. Each map is cleared right after it is printed: bpftrace reads
 * and clears maps from user space, so events landing between the two are lost; interleaving keeps that window as
 * short as it can be. With a double buffer the copy in use flips first, then the one just retired is printed.
 */
export function renderFlush(monitor: string, results: readonly ResultMap[], layout: Layout): string[] {
  const names = (gen: 0 | 1): string[] => results.flatMap((m) => copiesOf(m, layout).filter((c) => c.gen === gen).map((c) => c.name));
  if (!layout.double || !results.length) return [...printAndClear(names(0), '  '), tickLine(monitor, { ...layout, double: false }, '  ')];
  const flag = genFlag(monitor);
  return [
    `  ${flipCount(monitor)} = ${flipCount(monitor)} + 1;`,
    `  if (${flag}) {`,
    `    ${flag} = 0;`,
    ...printAndClear(names(1), '    '),
    '  } else {',
    `    ${flag} = 1;`,
    ...printAndClear(names(0), '    '),
    '  }',
    tickLine(monitor, layout, '  '),
  ];
}

/**
 * END's flush. The copy in use holds the final partial interval. The copy retired at the last flip was printed and
 * cleared then, unless bpftrace dropped that interval's output (it drops the output of probes that fire while it
 * finishes, after exit() or a signal): then it still holds a whole interval. Or its print arrived and its clear did
 * not: then it holds what was already counted. So END prints it after a `retired` line naming the flip, and the
 * router keeps it only when the tick of that flip never arrived.
 */
export function renderFinalFlush(monitor: string, results: readonly ResultMap[], layout: Layout): string[] {
  const names = (gen: 0 | 1): string[] => results.flatMap((m) => copiesOf(m, layout).filter((c) => c.gen === gen).map((c) => c.name));
  // Cleared once printed, so bpftrace's exit dump of every map repeats none of it.
  const print = (gen: 0 | 1, indent: string): string[] => printAndClear(names(gen), indent);
  if (!layout.double || !results.length) return [...print(0, '  '), tickLine(monitor, { ...layout, double: false }, '  ')];
  return [
    `  if (${genFlag(monitor)}) {`,
    ...print(1, '    '),
    retiredLine(monitor, '    '),
    ...print(0, '    '),
    '  } else {',
    ...print(0, '    '),
    retiredLine(monitor, '    '),
    ...print(1, '    '),
    '  }',
    tickLine(monitor, layout, '  '),
  ];
}
