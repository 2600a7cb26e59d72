// Install the workspace's npm dependencies when they are missing or older than package-lock.json, and build the
// dashboard the job API serves when its build is missing or older than its sources, so that `npm run quickstart`
// and `npm test` each work as the first command on a fresh clone. Plain Node, no dependencies.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.error('unilab: installing npm dependencies (npm ci)...');
  execSync('npm ci --no-audit --no-fund --loglevel=error', { stdio: 'inherit' });
}

/** The newest modification time of a file or of anything under a directory. */
const newest = (path) => {
  const s = statSync(path);
  return s.isDirectory() ? Math.max(s.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name)))) : s.mtimeMs;
};
const built = 'apps/dashboard/dist/index.html';
const sources = ['apps/dashboard/src', 'apps/dashboard/index.html', 'apps/dashboard/vite.config.ts', 'apps/api/src/client.ts', 'package-lock.json'];
if (!existsSync(built) || statSync(built).mtimeMs < Math.max(...sources.map(newest))) {
  console.error('unilab: building the dashboard (vite build)...');
  execSync('npm run -s build -w @unilab/dashboard', { stdio: ['ignore', 'ignore', 'inherit'] });
}
