// Preload for a child Node (`node --import <this>`): appends every module URL the process loads to the file named by
// $EBPFMON_MODULE_LIST, one a line. ES modules from a loader hook (module-list-hooks.ts, in the loader's thread,
// written as they resolve); CommonJS files from the require cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env['EBPFMON_MODULE_LIST'];
if (file) {
  register('./module-list-hooks.js', { parentURL: import.meta.url, data: { file } });
  process.on('exit', () => {
    const cjs = Object.keys(createRequire(import.meta.url).cache).map((f) => pathToFileURL(f).href);
    appendFileSync(file, cjs.map((u) => `${u}\n`).join(''));
  });
}
