// Checks the relative links of the user documentation (README.md, CHANGELOG.md, docs/*.md): every file a link
// names exists, and every #anchor names a heading of its target as GitHub slugs it. Used by a unit test, and
// runnable: `node dist/scripts/docs/links.js` prints the broken links and exits 1 when there are any.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BrokenLink {
  file: string;
  line: number;
  target: string;
  reason: string;
}

/** GitHub's heading anchor: lower case, punctuation dropped (letters, digits, spaces, - and _ kept), spaces as -. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The lines of a markdown text outside fenced code blocks, with their line numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence = false;
  text.split('\n').forEach((l, i) => {
    if (/^\s*(```|~~~)/.test(l)) fence = !fence;
    else if (!fence) out.push({ line: i + 1, text: l });
  });
  return out;
}

/** The anchors a markdown file's headings give, with GitHub's -1, -2 suffixes for repeated ones. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text: l } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!m?.[1]) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Link targets of a line, inline code spans left out: `[text](target)` and `![alt](target)`. */
function linkTargets(line: string): string[] {
  const prose = line.replace(/`[^`]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? '');
}

/** Broken relative links of one markdown file (absolute URLs are not fetched). */
export function brokenLinks(file: string): BrokenLink[] {
  const text = readFileSync(file, 'utf8');
  const broken: BrokenLink[] = [];
  for (const { line, text: l } of proseLines(text)) {
    for (const target of linkTargets(l)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [rel = '', anchor] = target.split('#', 2);
      const dest = rel === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(rel));
      if (!existsSync(dest)) {
        broken.push({ file, line, target, reason: 'no such file' });
        continue;
      }
      if (anchor === undefined) continue;
      if (!dest.endsWith('.md')) {
        broken.push({ file, line, target, reason: 'an anchor into a file that is not markdown' });
        continue;
      }
      if (!anchors(readFileSync(dest, 'utf8')).has(anchor)) broken.push({ file, line, target, reason: `no heading gives #${anchor}` });
    }
  }
  return broken;
}

/** The documentation files: README.md, CHANGELOG.md and docs/*.md (not docs/pending, drafts waiting to be merged). */
export function docFiles(root: string): string[] {
  const top = ['README.md', 'CHANGELOG.md'].map((f) => path.join(root, f)).filter((f) => existsSync(f));
  const docs = path.join(root, 'docs');
  const inDocs = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(docs, f)) : [];
  return [...top, ...inDocs];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const broken = docFiles(root).flatMap(brokenLinks);
  for (const b of broken) console.log(`${path.relative(root, b.file)}:${b.line}: ${b.target}: ${b.reason}`);
  process.exitCode = broken.length ? 1 : 0;
}
