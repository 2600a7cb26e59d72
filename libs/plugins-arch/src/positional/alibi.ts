import { Var, object, type PositionalEncodingPlugin, type Tape } from '@unilab/core';

/**
 * ALiBi head slopes (Press et al. 2022, §3): for n heads, a power of 2, the geometric sequence starting at and
 * multiplying by 2^(-8/n) (8 heads: 1/2, 1/4, ..., 1/256). Otherwise the slopes of the closest power of 2 below n,
 * followed by every other slope of twice that many heads until there are n (the rule of the paper's code).
 */
export function alibiSlopes(heads: number): number[] {
  const powerOfTwo = (n: number) => Array.from({ length: n }, (_, i) => 2 ** ((-8 * (i + 1)) / n));
  const below = 2 ** Math.floor(Math.log2(heads));
  if (below === heads) return powerOfTwo(heads);
  return [...powerOfTwo(below), ...powerOfTwo(2 * below).filter((_, i) => i % 2 === 0).slice(0, heads - below)];
}

/**
 * Attention with linear biases (Press et al. 2022): no position in the embeddings; each head h adds
 * -m_h · |i - j| to the score of query i and key j. In a causal stack only j <= i is visible and this is the paper's
 * -m_h (i - j); bidirectional and prefix stacks use the symmetric distance.
 */
export const alibi: PositionalEncodingPlugin<Record<string, never>> = {
  kind: 'positional-encoding',
  name: 'alibi',
  description: 'ALiBi: a fixed per-head linear distance penalty on attention scores (Press et al. 2022)',
  configSchema: object({}),
  positionDims: 1,
  create(_config, stack) {
    const slopes = alibiSlopes(stack.heads);
    const rows = (tape: Tape, firstQuery: number, queries: number, keys: number) => {
      const bias = new Float32Array(stack.heads * queries * keys);
      for (let h = 0; h < stack.heads; h++)
        for (let r = 0; r < queries; r++)
          for (let j = 0; j < keys; j++) bias[(h * queries + r) * keys + j] = -slopes[h] * Math.abs(firstQuery + r - j);
      return new Var(tape.own(stack.backend.fromArray(bias, [stack.heads, queries, keys])), false);
    };
    return {
      params: [],
      attentionBias: (tape, t) => rows(tape, 0, t, t),
      attentionBiasRows: rows,
    };
  },
};
