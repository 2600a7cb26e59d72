import type { PluginRegistry } from '@unilab/core';
import { sharedBackends } from '../backends.ts';
import { ByteTokenizer } from '@unilab/data';
import { latestCheckpoint } from '../checkpoint-files.ts';
import { prepareData, type PreparedData } from '../data.ts';
import { runTraining } from '../run.ts';
import type { TrainingSpec } from '../spec.ts';
import type { CellRunner } from './run-sweep.ts';

/**
 * Trains each cell in this process with `runTraining`, as `unilab run` does. A cell whose directory holds a
 * checkpoint resumes from it (bit-identical to an uninterrupted run). Cells reading the same corpus share one
 * tokenized copy of it: byte ids do not depend on the special tokens a cell's tokenizer reserves, so every cell
 * trains on exactly the documents, split and order it would read alone, without re-reading the corpus each time.
 */
export function inProcessCellRunner(registry: PluginRegistry): CellRunner {
  const corpora = new Map<string, Promise<PreparedData>>();
  const shared = (spec: TrainingSpec): Promise<PreparedData> | undefined => {
    if (spec.data.shards || spec.data.tokenizer !== 'byte') return undefined;
    const key = JSON.stringify([spec.data.corpus, spec.data.heldOutFraction]);
    if (!corpora.has(key)) corpora.set(key, prepareData(spec.data.corpus, spec.data.heldOutFraction, new ByteTokenizer()));
    return corpora.get(key);
  };
  // One backend per kind and precision for the whole sweep (one worker pool each); each cell frees its tensors when it ends.
  const backendFor = sharedBackends();
  return {
    async run(cell, { dir, signal, onStep }) {
      try {
        const resume = (await latestCheckpoint(dir)) !== null;
        const result = await runTraining({
          spec: cell.spec,
          outDir: dir,
          registry,
          resume,
          signal,
          data: await shared(cell.spec),
          backend: await backendFor(cell.spec),
          onEvent: (e) => {
            if (e.type === 'step') onStep({ step: e.step, loss: e.loss, tokens: e.tokens });
          },
        });
        result.dispose();
        const finished = result.step >= cell.spec.train.steps;
        return {
          status: finished ? 'trained' : 'interrupted',
          step: result.step,
          heldOutLoss: Number.isFinite(result.heldOutLoss) ? result.heldOutLoss : null,
          flops: result.flops,
          checkpoint: result.checkpoint,
        };
      } catch (err) {
        return { status: 'failed', step: cell.step, heldOutLoss: null, flops: null, checkpoint: null, error: (err as Error).message };
      }
    },
  };
}
