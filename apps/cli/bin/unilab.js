#!/usr/bin/env node
// The `unilab` executable: runs the command built to JavaScript in ../dist (scripts/build-cli.mjs, run by
// `npm install` through the root's prepare script, or `npm run build:cli`). Plain JavaScript, so Node needs no loader.
import { existsSync } from 'node:fs';

const built = new URL('../dist/unilab.js', import.meta.url);
if (!existsSync(built)) {
  console.error('unilab: the command is not built yet; run `npm run build:cli` in the repository');
  process.exit(1);
}
await import(built.href);
