import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, estimateStepFlops, parseTrainingSpec, rowShape, runTraining, validateSpecPlugins, type RunInfo } from '../src/index.ts';
import { sotuSubset, tempDir } from './fixtures.ts';

// T5 §3.1.4 (random_spans_helper): 568 raw tokens make 512 inputs and 114 targets, so an encoder-decoder trained on
// span corruption reads 512-token encoder rows and 114-token decoder rows. Decoder rows of 512 would be 78% padding
// and roughly double the FLOPs of the L+L model (half its FLOPs sit in the decoder) for nothing.
const registry = createDefaultRegistry();
const edSpec = (objective: string, train: Record<string, unknown> = {}, corpus = 'sotu') =>
  parseTrainingSpec({
    backend: 'wasm',
    data: { corpus, heldOutFraction: 0.1 },
    model: { architecture: 'encoder-decoder', config: { encoderLayers: 1, decoderLayers: 1, dModel: 32, heads: 2 } },
    objective: { name: objective },
    train: { steps: 3, batchSize: 2, seqLen: 512, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0, ...train },
    samplePrompts: [],
  });

describe("the encoder-decoder's own decoder length", () => {
  it('span corruption: 512 encoder positions, 114 decoder positions (T5), unless train.decoderLen says otherwise', () => {
    expect(rowShape(edSpec('span-corruption'), registry)).toEqual({ seqLen: 114, encoderLen: 512 });
    expect(rowShape(edSpec('span-corruption', { decoderLen: 200 }), registry)).toEqual({ seqLen: 200, encoderLen: 512 });
    // Objectives whose targets can be as long as their inputs keep seqLen; one-stack models have one row length.
    expect(rowShape(edSpec('prefixlm'), registry)).toEqual({ seqLen: 512, encoderLen: 512 });
    expect(rowShape(edSpec('ul2'), registry).seqLen).toBe(512);
    const mixture = parseTrainingSpec({ ...edSpec('clm'), model: { architecture: 'encoder-decoder', config: {} }, objective: { mixture: [{ name: 'span-corruption', weight: 1 }, { name: 'prefixlm', weight: 1 }] } });
    expect(rowShape(mixture, registry).seqLen).toBe(512);
    expect(rowShape(parseTrainingSpec({ objective: { name: 'span-corruption' }, train: { seqLen: 512 } }), registry)).toEqual({ seqLen: 512 });
    expect(() => validateSpecPlugins(parseTrainingSpec({ objective: { name: 'span-corruption' }, train: { decoderLen: 100 } }), registry)).toThrow(
      'spec.train.decoderLen: only an encoder-decoder has decoder rows of their own; decoder reads seqLen positions (remove decoderLen)',
    );
  });

  it('FLOPs per step count the rows as computed: the 114-token decoder spends far less than a padded 512-token one', () => {
    const auto = estimateStepFlops(edSpec('span-corruption'), registry)!;
    const padded = estimateStepFlops(edSpec('span-corruption', { decoderLen: 512 }), registry)!;
    const decoderOnly = estimateStepFlops(parseTrainingSpec({ ...edSpec('span-corruption'), model: { architecture: 'prefix-lm', config: { layers: 2, dModel: 32, heads: 2 } } }), registry)!;
    expect(auto / padded).toBeLessThan(0.65);
    // The L+L encoder-decoder on 512 + 114 positions costs less than a 2L decoder on 512 (T5 Table 2's "same compute").
    expect(auto).toBeLessThan(decoderOnly);
    expect(padded).toBeGreaterThan(decoderOnly * 0.95);
  });

  it('trains on real text at that shape and reports the FLOPs it spent', async () => {
    const corpus = await sotuSubset(3);
    const spec = edSpec('span-corruption', {}, corpus);
    let info: RunInfo | undefined;
    const result = await runTraining({ spec, outDir: await tempDir(), registry, onEvent: (e) => e.type === 'start' && (info = e) });
    expect(info!.rows).toEqual({ seqLen: 114, encoderLen: 512 });
    expect(info!.flopsPerStep).toBe(estimateStepFlops(spec, registry, result.tokenizer.vocabSize));
    expect(result.flops).toBe(3 * info!.flopsPerStep!);
    expect(result.losses.every(Number.isFinite)).toBe(true);
    // The padding was never part of any example: decoder rows of 512 train on the same examples to the same losses,
    // only at a higher cost.
    const padded = await runTraining({ spec: edSpec('span-corruption', { decoderLen: 512 }, corpus), outDir: await tempDir(), registry });
    expect(padded.losses).toEqual(result.losses);
    expect(padded.flops! / result.flops!).toBeGreaterThan(1.5);
  });
});
