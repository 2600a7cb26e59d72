import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, runTraining } from '../src/index.ts';
import { tempDir, tinySpec } from './fixtures.ts';

// Every objective, in each form it has (decoder-only and encoder-decoder; GLM and BERT on their own stacks), trains
// end to end through runTraining (the path of `unilab train`): its batches feed the architecture, and the held-out
// loss per predicted token falls well below ln(vocab) ≈ 5.6, where it starts. Tiny models keep it fast; one-stack
// models get as many layers as the encoder-decoder has in its two stacks. The bundled corpus (not a copy in a
// temporary directory) keeps the document ids, hence the held-out split and the figures, the same from run to run.
const oneStack = { layers: 2, dModel: 32, heads: 2 };
const twoStacks = { encoderLayers: 1, decoderLayers: 1, dModel: 32, heads: 2 };

const runs: [string, string, Record<string, unknown>][] = [
  ['clm', 'decoder', oneStack],
  ['prefixlm', 'decoder', oneStack],
  ['prefixlm', 'encoder-decoder', twoStacks],
  ['span-corruption', 'decoder', oneStack],
  ['span-corruption', 'encoder-decoder', twoStacks],
  ['sclm', 'decoder', oneStack],
  ['sclm', 'encoder-decoder', twoStacks],
  ['unilm', 'decoder', oneStack],
  ['unilm', 'encoder-decoder', twoStacks],
  ['ul2', 'decoder', oneStack],
  ['ul2', 'encoder-decoder', twoStacks],
  ['glm', 'glm', oneStack],
  ['bert-mlm', 'encoder', oneStack],
];

describe('objectives train end to end', () => {
  it.each(runs)('%s on %s: the held-out loss falls', async (objective, architecture, config) => {
    const base = tinySpec('sotu', { train: { steps: 60, batchSize: 8, seqLen: 64, lr: 5e-3, minLr: 5e-4, warmupSteps: 5, evalBatches: 4 } });
    const spec = { ...base, model: { architecture, config }, objective: { name: objective, config: {} } };
    const result = await runTraining({ spec, outDir: await tempDir(), registry: createDefaultRegistry() });
    console.info(`${objective} on ${architecture}: first step ${result.losses[0].toFixed(3)}, last step ${result.losses.at(-1)!.toFixed(3)}, held-out ${result.heldOutLoss.toFixed(3)} nats`);
    expect(result.losses[0]).toBeGreaterThan(5);
    expect(result.heldOutLoss).toBeLessThan(result.losses[0] - 2);
  });
});
