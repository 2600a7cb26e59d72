import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';

// Every objective, in each form it has (decoder-only, on the causal decoder or the mask-following prefix-lm, and encoder-decoder; GLM and BERT on their own stacks), trains
// end to end through `unilab train` on the WASM backend: its batches feed the architecture, and the held-out loss per
// predicted token ends well below ln(vocab) (≈ 5.55 with bytes, 5.88 with T5's sentinels), where a fresh model
// starts. Tiny models keep it fast; one-stack models get as many layers as the encoder-decoder has in its two stacks.
// The bundled corpus keeps its document ids, hence the held-out split and the figures, the same from run to run.
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
  ['unilm', 'prefix-lm', oneStack],
  ['unilm', 'encoder-decoder', twoStacks],
  ['ul2', 'decoder', oneStack],
  ['ul2', 'encoder-decoder', twoStacks],
  ['glm', 'glm', oneStack],
  ['bert-mlm', 'encoder', oneStack],
];

describe('every objective trains end to end through `unilab train`', () => {
  it.each(runs)('%s on %s: the held-out loss ends 2 nats below ln(vocab)', async (objective, architecture, config) => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-objective-'));
    const spec = {
      name: `${objective}-${architecture}`,
      backend: 'wasm',
      data: { corpus: 'sotu' },
      model: { architecture, config },
      objective: { name: objective, config: {} },
      train: { steps: 60, batchSize: 8, seqLen: 64, lr: 5e-3, minLr: 5e-4, warmupSteps: 5, evalEvery: 0, evalBatches: 4, checkpointEvery: 0 },
      samplePrompts: [],
    };
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    const r = await cli('train', join(dir, 'spec.json'), '--out', join(dir, 'run'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const vocab = Number(/vocab (\d+)/.exec(r.out)?.[1]);
    const heldOut = Number(/held-out loss (\d+\.\d+) nats\/token/.exec(r.out)?.[1]);
    console.info(`${objective} on ${architecture}: ln(vocab) ${Math.log(vocab).toFixed(3)}, held-out after 60 steps ${heldOut.toFixed(3)} nats`);
    expect(heldOut).toBeLessThan(Math.log(vocab) - 2);
  });
});
