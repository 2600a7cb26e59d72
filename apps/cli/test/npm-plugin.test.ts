import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';
import { cli } from './run-cli.ts';

// A plugin from npm, end to end: the fixture package (outside the workspaces) is packed with `npm pack`, installed
// into a fresh project, listed in that project's unilab.config.json, and then shows up in `unilab plugins`, trains a
// spec that chooses it, and is refused for an architecture it cannot serve.
const run = promisify(execFile);
const fixture = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/plugin-pe-example');
const npm = (args: string[], cwd: string) => run('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd });


let project: string;
let config: string;
let corpus: string;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'unilab-npm-plugin-'));
  const { stdout } = await npm(['pack', fixture, '--pack-destination', root], root);
  const tarball = join(root, stdout.trim().split('\n').pop()!);
  project = join(root, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'my-experiments', private: true, type: 'module' }));
  await npm(['install', tarball], project);
  config = join(project, 'unilab.config.json');
  await writeFile(config, JSON.stringify({ plugins: ['unilab-plugin-pe-example'] }));
  corpus = join(project, 'corpus');
  await mkdir(corpus);
  for (const [i, d] of (await readSotu()).slice(0, 3).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
}, 120_000);

async function specFile(name: string, architecture: string, positionalEncoding: unknown): Promise<string> {
  const path = join(project, `${name}.json`);
  const spec = {
    name,
    data: { corpus },
    model: { architecture, config: { layers: 1, dModel: 16, heads: 2, positionalEncoding } },
    train: { steps: 6, batchSize: 2, seqLen: 24, lr: 0.01, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
    samplePrompts: [],
  };
  await writeFile(path, JSON.stringify(spec));
  return path;
}

describe('a positional encoding from an npm package', () => {
  it('is installed from its tarball, outside the workspace', async () => {
    expect(await readdir(join(project, 'node_modules', 'unilab-plugin-pe-example'))).toEqual(expect.arrayContaining(['index.js', 'package.json']));
  });

  it('is listed by `unilab plugins` from the explicit plugin list of the configuration', async () => {
    const r = await cli('plugins', '--config', config);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`plugins from ${config}: unilab-plugin-pe-example`);
    expect(r.out).toMatch(/positional encodings \(9\)/);
    expect(r.out).toMatch(/sinusoid-bias +Parameter-free attention bias.*\(from the configuration\)/);
    // Without the configuration it does not exist.
    expect((await cli('plugins')).out).not.toContain('sinusoid-bias');
  });

  it('trains a spec that uses it', async () => {
    const spec = await specFile('npm-pe', 'decoder', { name: 'sinusoid-bias', config: { scale: 2 } });
    const r = await cli('train', spec, '--config', config, '--out', join(project, 'run'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/held-out loss \d+\.\d+ nats\/token/);
    const described = await cli('describe', spec, '--config', config);
    expect(described.out).toContain('decoder: 1 layers, d 16, 2 heads (kv 2), ffn 48 swiglu, pre-rmsnorm, sinusoid-bias, untied');
  });

  it('is refused, with why and what would work, for an architecture it cannot serve; unknown without the configuration', async () => {
    const glm = await specFile('npm-pe-glm', 'glm', 'sinusoid-bias');
    const r = await cli('train', glm, '--config', config, '--out', join(project, 'glm'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'unilab train: invalid spec: spec.model.config.positionalEncoding.name: positional encoding "sinusoid-bias" cannot serve architecture "glm": ' +
        'it encodes one position dimension (batch.positions) and the model reads two position dimensions ' +
        "(batch.positions, and batch.blockPositions ordering GLM's spans, Du et al. 2022 §2.3). With glm use glm-2d, rope-2d",
    );
    const decoder = await specFile('npm-pe-missing', 'decoder', 'sinusoid-bias');
    const missing = await cli('train', decoder, '--out', join(project, 'missing'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/unknown positional encoding "sinusoid-bias"; available: rope, learned-absolute/);
  });

  it('a configuration naming a package that is not installed says so', async () => {
    const bad = join(project, 'bad.config.json');
    await writeFile(bad, JSON.stringify({ plugins: ['unilab-plugin-not-installed'] }));
    const r = await cli('plugins', '--config', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`plugin "unilab-plugin-not-installed" (listed in ${bad}) is not installed there`);
  });
});
