import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';
import { cli } from './run-cli.ts';

// Data stages are plugins of the one registry: a stage listed in unilab.config.json is run by `unilab data` and
// listed by `unilab plugins`, like an architecture or an objective; without the configuration it does not exist.
let dir: string;
let config: string;
let pipeline: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unilab-data-plugin-'));
  await writeFile(
    join(dir, 'min-words.js'),
    `export default {
      kind: 'data-stage',
      name: 'min-words',
      description: 'drops lines of fewer than "words" words (a local plugin)',
      configSchema: { describe: 'an object { words }', parse: (v, path) => {
        if (!Number.isInteger(v?.words)) throw new Error(path + '.words: expected an integer');
        return v;
      } },
      create: async (config) => ({
        process: (doc) => (doc.text.split(/\\s+/).filter(Boolean).length >= config.words ? { keep: true } : { keep: false, reason: 'min-words:short' }),
      }),
    };`,
  );
  config = join(dir, 'unilab.config.json');
  await writeFile(config, JSON.stringify({ plugins: ['./min-words.js'] }));
  const lines = (await readSotu()).slice(0, 2).flatMap((d) => d.text.split(/(?<=[.!?])\s+/));
  await writeFile(join(dir, 'sentences.txt'), lines.join('\n'));
  pipeline = join(dir, 'pipeline.json');
  await writeFile(
    pipeline,
    JSON.stringify({
      output: join(dir, 'dataset'),
      sources: [{ name: 'sotu', path: join(dir, 'sentences.txt'), split: 'line' }],
      stages: [{ stage: 'min-words', config: { words: 12 } }],
      tokenizer: { vocabSize: 300 },
      pack: { seqLen: 64, sequencesPerShard: 16 },
    }),
  );
}, 60_000);

describe('a data stage from unilab.config.json', () => {
  it('runs in `unilab data`, counted like the built-in stages', async () => {
    const r = await cli('data', pipeline, '--config', config, '--quiet');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/min-words/);
    expect(r.out).toMatch(/min-words:short/);
  });

  it('is listed by `unilab plugins` under data stages, and unknown without the configuration', async () => {
    expect((await cli('plugins', '--config', config)).out).toMatch(/data stages \(\d+\)[\s\S]*min-words +drops lines[\s\S]*\(from the configuration\)/);
    const r = await cli('data', pipeline);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^unilab data: invalid spec: pipeline\.stages\[0\]\.stage: unknown stage "min-words"; available: /);
  });
});
