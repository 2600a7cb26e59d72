import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataStagePlugins, parsePipelineSpec, readSotu, runPipeline } from '@unilab/data';
import { parseTrainingSpec, type TrainingSpec } from '../src/spec.ts';

export async function tempDir(prefix = 'unilab-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A small real-text corpus: the first `count` State of the Union addresses, written as .txt files. */
export async function sotuSubset(count: number): Promise<string> {
  const dir = join(await tempDir('unilab-corpus-'), 'sotu');
  await mkdir(dir, { recursive: true });
  const docs = (await readSotu()).slice(0, count);
  await Promise.all(docs.map((d, i) => writeFile(join(dir, `${String(i).padStart(3, '0')}.txt`), d.text)));
  return dir;
}

/**
 * A small prepared dataset (`unilab data`'s pipeline): the sentences of the first `count` State of the Union
 * addresses, one document each, BPE-tokenized and packed into many small shards.
 */
export async function sotuShards(count: number): Promise<string> {
  const dir = await tempDir('unilab-shards-');
  const sentences = (await readSotu()).slice(0, count).flatMap((d) => d.text.split(/(?<=[.!?])\s+/));
  await writeFile(join(dir, 'sentences.txt'), sentences.join('\n'));
  const output = join(dir, 'dataset');
  const spec = parsePipelineSpec(
    {
      output,
      sources: [{ name: 'sotu', path: join(dir, 'sentences.txt'), split: 'line' }],
      tokenizer: { vocabSize: 300, objectives: [] },
      pack: { seqLen: 64, sequencesPerShard: 4 },
    },
    dataStagePlugins,
  );
  await runPipeline({ spec });
  return output;
}

/** A tiny decoder spec for fast tests. */
export function tinySpec(corpus: string, overrides: { train?: Record<string, unknown>; model?: Record<string, unknown> } = {}): TrainingSpec {
  return parseTrainingSpec({
    name: 'test',
    seed: 42,
    backend: 'wasm',
    data: { corpus, heldOutFraction: 0.1 },
    model: { architecture: 'decoder', config: { layers: 1, dModel: 32, heads: 2, ...overrides.model } },
    objective: { name: 'clm' },
    train: { steps: 12, batchSize: 4, seqLen: 32, lr: 3e-3, warmupSteps: 2, evalEvery: 0, evalBatches: 2, checkpointEvery: 0, ...overrides.train },
    samplePrompts: [],
  });
}
