// Paths from a compiled test (dist/test/...) back to the repository.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliPath = path.join(repoRoot, 'dist/src/cli/main.js');
export const fixturesDir = path.join(repoRoot, 'test/fixtures');
