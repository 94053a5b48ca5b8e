// `npm run golden`: rewrites test/golden/*.bt from today's declarations, so every change to the scripts operators
// read shows in review as a diff. test/unit/golden.test.ts fails until they are rewritten.
import { readdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenScripts } from './golden-cases.js';

const dir = fileURLToPath(new URL('../../test/golden/', import.meta.url));
const scripts = goldenScripts();
for (const f of await readdir(dir)) if (f.endsWith('.bt') && !scripts.some((s) => s.file === f)) await unlink(path.join(dir, f));
for (const s of scripts) await writeFile(path.join(dir, s.file), s.text);
console.log(`test/golden: ${scripts.length} scripts written`);
