// Install the workspace's npm dependencies when they are missing or older than package-lock.json, so that
// `npm run quickstart` and `npm test` each work as the first command on a fresh clone. Plain Node, no dependencies.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.error('unilab: installing npm dependencies (npm ci)...');
  execSync('npm ci --no-audit --no-fund --loglevel=error', { stdio: 'inherit' });
}
