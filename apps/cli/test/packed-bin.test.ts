import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';

// The `unilab` command as a user gets it: `npm pack` of the CLI workspace (its prepack builds dist/ with
// scripts/build-cli.mjs), installed from the tarball into an empty project without its optional packages, then run
// by Node alone (no tsx, no workspace, no node_modules of the repository; the one exception is better-sqlite3 for
// `serve`, linked in by its test). A project, not `npm i -g --prefix`: npm 11 installs a global package's optional
// dependencies even with --omit=optional (compiling better-sqlite3 from source where no prebuilt binary downloads).
const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let root: string;
let project: string;
let unilab: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'unilab-packed-'));
  const { stdout } = await run('npm', ['pack', '-w', '@unilab/cli', '--pack-destination', root, '--loglevel=error'], { cwd: repo });
  const tarball = join(root, stdout.trim().split('\n').pop()!);
  project = join(root, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{"private": true}');
  await run('npm', ['install', tarball, '--offline', '--omit=optional', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project });
  unilab = join(project, 'node_modules', '.bin', 'unilab');
}, 120_000);

afterAll(() => rm(root, { recursive: true, force: true }));

// Two kernel threads: the worker (dist/kernel-worker.node.js) must load beside the bundle.
const unilabIn = (cwd: string, ...args: string[]) => run(unilab, args, { cwd, env: { ...process.env, NODE_OPTIONS: '', UNILAB_THREADS: '2' } });

describe('unilab from a packed install', () => {
  it('holds the built command and nothing else: no workspace library (they are bundled), no optional package', async () => {
    const installed = join(project, 'node_modules');
    expect((await readdir(installed)).filter((name) => !name.startsWith('.'))).toEqual(['@unilab']);
    expect(await readdir(join(installed, '@unilab'))).toEqual(['cli']);
    expect(await readdir(join(installed, '@unilab', 'cli'))).toEqual(expect.arrayContaining(['bin', 'dist', 'package.json']));
    expect(await readdir(join(installed, '@unilab', 'cli', 'dist', 'dashboard'))).toEqual(['assets', 'index.html']);
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

  it('serves the job API and its dashboard once SQLite is installed beside it, and says what to install before', async () => {
    const dataDir = join(root, 'data');
    const corpus = join(dataDir, 'corpora', 'sotu-small');
    await mkdir(corpus, { recursive: true });
    for (const [i, d] of (await readSotu()).slice(0, 3).entries()) await writeFile(join(corpus, `${i}.txt`), d.text.slice(0, 12_000));
    const serveArgs = ['serve', '--data-dir', dataDir, '--port', '0'];

    // Node 20 has no node:sqlite and the install omitted better-sqlite3: one line naming what to install, exit 1.
    const refused = await unilabIn(root, ...serveArgs).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/^unilab serve: the job store needs SQLite, and this Node \(v20[\d.]+\) has no driver for it: better-sqlite3 did not load \(Cannot find package 'better-sqlite3'/);
    expect(refused?.stderr).toContain('npm i better-sqlite3@12');

    // `npm i better-sqlite3@12` in the project would compile it from source here (no prebuilt binary can be
    // downloaded) for minutes; the repository's build of the same version stands in for it, where Node finds it.
    await symlink(join(repo, 'node_modules', 'better-sqlite3'), join(project, 'node_modules', 'better-sqlite3'), 'dir');
    const server = spawn(unilab, serveArgs, { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<number | null>((done) => server.once('exit', (code) => done(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match) resolve(match[1]);
        };
        server.stdout.on('data', onData);
        server.stderr.on('data', onData);
        void exited.then((code) => reject(new Error(`unilab serve exited with code ${code}:\n${output}`)));
      });
      expect(output).toContain(`(Node ${process.versions.node}; data in ${dataDir}; no token, loopback only; jobs run in this process)`);
      expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok', runtime: 'node' });

      // The dashboard shipped in the package (dist/dashboard), its script served from assets/.
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<meta name="unilab-auth" content="none">');
      const script = /<script type="module" crossorigin src="(\/assets\/[\w.-]+\.js)">/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${url}${script}`);
      expect([asset.status, asset.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
      expect((await asset.text()).length).toBeGreaterThan(10_000);

      // A tiny job through the packed `unilab submit`, trained by the packed job worker (dist/worker-entry.js).
      const spec = {
        name: 'packed-serve',
        backend: 'reference',
        data: { corpus: 'corpora/sotu-small', heldOutFraction: 0.2 },
        model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
        objective: { name: 'clm' },
        train: { steps: 6, batchSize: 4, seqLen: 16, lr: 3e-3, warmupSteps: 2, evalEvery: 0, evalBatches: 2, checkpointEvery: 3 },
        samplePrompts: [],
      };
      await writeFile(join(root, 'serve-spec.json'), JSON.stringify(spec));
      const { stdout } = await unilabIn(root, 'submit', 'serve-spec.json', '--server', url);
      const id = stdout.split('\n')[0];
      expect(stdout).toMatch(new RegExp(`unilab: job ${id} completed at step 6/6, loss \\d+\\.\\d+`));
      expect(await (await fetch(`${url}/v1/jobs/${id}`)).json()).toMatchObject({ id, status: 'completed', step: 6 });
      expect(await readdir(join(dataDir, 'jobs', id, 'stage-0-packed-serve', 'attempt-0', 'checkpoints'))).toContain('step-00000006.safetensors');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('unilab: shutting down');
  }, 90_000);
});
