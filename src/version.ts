// The package version, read from package.json (dist/src/version.js -> ../../package.json).
import { readFileSync } from 'node:fs';

export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Bumped whenever map names, key order or printf layouts change in a way an edited script must follow (3: open's @open_comm gained the outcome, [pid, failed, comm]). */
export const contractVersion = 3;
