import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tokenizer } from '@unilab/core';
import { readSotu } from '@unilab/data';
import { createDefaultRegistry, parseTrainingSpec, runTraining, type RunResult, type TrainingSpec } from '@unilab/runner';
import { scoringModel, type ScoringModel } from '../src/index.ts';

export async function tempDir(prefix = 'unilab-eval-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A small real-text corpus: the first `count` State of the Union addresses, as .txt files. */
export async function sotuSubset(count: number): Promise<string> {
  const dir = join(await tempDir('unilab-eval-corpus-'), 'sotu');
  await mkdir(dir, { recursive: true });
  const docs = (await readSotu()).slice(0, count);
  await Promise.all(docs.map((d, i) => writeFile(join(dir, `${String(i).padStart(3, '0')}.txt`), d.text)));
  return dir;
}

export interface TinyRun {
  spec: TrainingSpec;
  result: RunResult;
  model: ScoringModel;
}

/** Train a tiny model of `architecture` with `objective` for `steps` steps (0: the untrained model is still saved after one step is skipped). */
export async function trainTiny(
  corpus: string,
  architecture: string,
  objective: Record<string, unknown>,
  options: { steps?: number; seqLen?: number; lr?: number; config?: Record<string, unknown>; seed?: number; tokenizer?: Tokenizer } = {},
): Promise<TinyRun> {
  const twoStacks = architecture === 'encoder-decoder';
  const config = options.config ?? (twoStacks ? { encoderLayers: 1, decoderLayers: 1, dModel: 32, heads: 2 } : { layers: 2, dModel: 32, heads: 2 });
  const spec = parseTrainingSpec({
    name: 'eval-test',
    seed: options.seed ?? 7,
    backend: 'wasm',
    data: { corpus, heldOutFraction: 0.2 },
    model: { architecture, config },
    objective,
    train: { steps: options.steps ?? 6, batchSize: 8, seqLen: options.seqLen ?? 48, lr: options.lr ?? 5e-3, minLr: (options.lr ?? 5e-3) / 10, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
    samplePrompts: [],
  });
  const registry = createDefaultRegistry();
  const result = await runTraining({ spec, outDir: await tempDir('unilab-eval-run-'), registry, tokenizer: options.tokenizer });
  const model = scoringModel({ model: result.model, tokenizer: result.tokenizer, backend: result.backend, seqLen: spec.train.seqLen, spec }, registry);
  return { spec, result, model };
}
