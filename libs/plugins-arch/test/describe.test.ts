import { describe, expect, it } from 'vitest';
import { describeModel, matchedEncoderDecoders, parameterBreakdown } from '../src/index.ts';
import { architecture } from './models.ts';

const bench = architecture('decoder').configSchema.parse({ layers: 4, dModel: 256, heads: 4, ffnHidden: 688 }, 'model');
const options = { vocabSize: 8192, seqLen: 128, batchSize: 16 };

describe('describe', () => {
  it('counts FLOPs per token as 2N + attention forward and three times that for training', () => {
    const d = describeModel('decoder', bench, options);
    // N: per layer 4·256² + 3·256·688, and the head 256·8192; attention: 4 · 128 keys · 256 per layer.
    const n = 4 * (4 * 256 ** 2 + 3 * 256 * 688) + 256 * 8192;
    expect(d.flopsPerToken).toEqual({ matmulWeights: n, forward: 2 * n + 4 * 4 * 128 * 256, attention: 4 * 4 * 128 * 256, training: 3 * (2 * n + 4 * 4 * 128 * 256) });
    expect(d.memory.weightsAndOptimizer).toBe(16 * 7_358_720);
    expect(d.memory.activations).toBeGreaterThan(4 * 16 * 128 * 2 * 8192);
  });

  it('matches an encoder-decoder to the decoder: same parameters (half the compute) or same compute (about twice the parameters)', () => {
    const { sameParameters, sameCompute } = matchedEncoderDecoders(bench, options);
    const decoder = describeModel('decoder', bench, options);
    const equalParams = describeModel('encoder-decoder', sameParameters, options);
    const equalCompute = describeModel('encoder-decoder', sameCompute, options);
    expect([sameParameters.encoderLayers, sameParameters.decoderLayers, sameCompute.encoderLayers, sameCompute.decoderLayers]).toEqual([2, 2, 4, 4]);
    // The FFN width absorbs the cross-attention: totals agree to within one FFN unit per block (4 · 3 · 256).
    expect(Math.abs(equalParams.parameters.total - decoder.parameters.total)).toBeLessThanOrEqual(4 * 3 * 256);
    expect(equalParams.flopsPerToken.forward / decoder.flopsPerToken.forward).toBeCloseTo(0.5, 1);
    expect(equalCompute.parameters.nonEmbedding / decoder.parameters.nonEmbedding).toBeGreaterThan(2);
    expect(equalCompute.flopsPerToken.forward / decoder.flopsPerToken.forward).toBeGreaterThan(0.9);
    expect(equalCompute.flopsPerToken.forward / decoder.flopsPerToken.forward).toBeLessThan(1.1);
  });

  it('replaces an encoding the encoder-decoder cannot use', () => {
    const nope = architecture('decoder').configSchema.parse({ layers: 2, dModel: 32, heads: 2, positionalEncoding: 'none' }, 'model');
    expect(matchedEncoderDecoders(nope, options).sameCompute.positionalEncoding.name).toBe('rope');
    expect(parameterBreakdown('decoder', nope, options).total).toBeGreaterThan(0);
  });
});
