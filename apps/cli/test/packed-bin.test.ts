import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';

// The `unilab` command as a user gets it: `npm pack` of the CLI workspace (its prepack builds dist/ with
// scripts/build-cli.mjs), installed globally into an empty prefix without its optional packages, then run by Node
// alone (no tsx, no workspace, no node_modules of the repository).
const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let root: string;
let unilab: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'unilab-packed-'));
  const { stdout } = await run('npm', ['pack', '-w', '@unilab/cli', '--pack-destination', root, '--loglevel=error'], { cwd: repo });
  const tarball = join(root, stdout.trim().split('\n').pop()!);
  const prefix = join(root, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, tarball, '--offline', '--omit=optional', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root });
  unilab = join(prefix, 'bin', 'unilab');
}, 120_000);

// Two kernel threads: the worker (dist/kernel-worker.node.js) must load beside the bundle.
const unilabIn = (cwd: string, ...args: string[]) => run(unilab, args, { cwd, env: { ...process.env, NODE_OPTIONS: '', UNILAB_THREADS: '2' } });

describe('unilab from a packed install', () => {
  it('holds the built command, with no workspace library beside it (they are bundled)', async () => {
    const installed = join(root, 'prefix', 'lib', 'node_modules');
    expect(await readdir(join(installed, '@unilab'))).toEqual(['cli']);
    expect(await readdir(join(installed, '@unilab', 'cli'))).toEqual(expect.arrayContaining(['bin', 'dist', 'package.json']));
    const nested = await readdir(join(installed, '@unilab', 'cli', 'node_modules')).catch(() => []);
    expect(nested).not.toContain('@unilab');
  });

  it('--help lists the commands', async () => {
    const { stdout } = await unilabIn(root, '--help');
    expect(stdout).toMatch(/^unilab: pre-train and compare small language models/);
    for (const command of ['train', 'data', 'generate', 'eval', 'plugins', 'preview', 'serve']) expect(stdout).toContain(`unilab ${command} `);
  });

  it('trains a tiny model on a corpus directory with the WASM kernels and their worker pool, then lists plugins', async () => {
    const corpus = join(root, 'corpus');
    await mkdir(corpus);
    for (const [i, d] of (await readSotu()).slice(0, 2).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
    const spec = {
      name: 'packed',
      backend: 'wasm',
      data: { corpus, heldOutFraction: 0.2 },
      model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
      objective: { name: 'clm' },
      train: { steps: 3, batchSize: 2, seqLen: 24, lr: 0.01, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      samplePrompts: [],
    };
    await writeFile(join(root, 'spec.json'), JSON.stringify(spec));
    const { stdout } = await unilabIn(root, 'train', 'spec.json', '--out', join(root, 'run'));
    expect(stdout).toMatch(/unilab: done at step 3\. held-out loss \d+\.\d+ nats\/token/);
    expect((await unilabIn(root, 'plugins')).stdout).toMatch(/objectives \(8\)/);
  });
});
