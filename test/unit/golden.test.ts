// Golden scripts: what compose renders today equals test/golden/*.bt. After a deliberate change, run
// `npm run golden` and review the diff of the scripts operators read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { goldenScripts } from '../../scripts/golden-cases.js';
import { repoRoot } from '../helpers/paths.js';

const dir = path.join(repoRoot, 'test/golden');

test('every golden script is what compose renders today (npm run golden rewrites them)', () => {
  const scripts = goldenScripts();
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.bt')).sort(), scripts.map((s) => s.file).sort());
  for (const s of scripts) assert.equal(s.text, readFileSync(path.join(dir, s.file), 'utf8'), `${s.file} differs: run npm run golden and review the diff`);
});
