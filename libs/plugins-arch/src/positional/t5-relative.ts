import { createParameter, field, integer, object, ops, type PositionalEncodingPlugin, type Tape } from '@unilab/core';

const t5RelativeSchema = object({
  numBuckets: field(integer({ min: 2, max: 1024 }), 32),
  maxDistance: field(integer({ min: 2 }), 128),
});
export type T5RelativeConfig = ReturnType<typeof t5RelativeSchema.parse>;

/**
 * T5's bucket of a relative position (Raffel et al. 2020 §2.1; mesh-tensorflow's relative_position_bucket), for
 * relative = j - i (key minus query). Bidirectional: half the buckets for keys after the query. The first half of the
 * (remaining) buckets are exact distances 0, 1, ...; the rest grow logarithmically up to maxDistance, and farther
 * distances share the last bucket. Causal: keys after the query all fall in bucket 0 (they are masked anyway).
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let bucket = 0;
  let n = -relative;
  let buckets = numBuckets;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (n < 0) bucket += buckets;
    n = Math.abs(n);
  } else {
    n = Math.max(n, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (n < maxExact) return bucket + n;
  const large = maxExact + Math.floor((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (buckets - maxExact));
  return bucket + Math.min(large, buckets - 1);
}

/**
 * T5's relative attention bias: a learned scalar per (bucket, head) added to the attention scores, one table per
 * stack shared by all its layers (Raffel et al. 2020 §2.1). Buckets are bidirectional except in a causal stack.
 * The table [buckets, H] is gathered into the bias [H, t, t] by the embedding op (row bucket·H + h of the table viewed
 * as [buckets·H, 1]), whose backward scatters the bias gradient back into the table. attentionBiasRows gives the rows of
 * the tokens a decoding step appends, for the key/value cache.
 */
export const t5Relative: PositionalEncodingPlugin<T5RelativeConfig> = {
  kind: 'positional-encoding',
  name: 't5-relative',
  description: "T5's learned relative position buckets added to attention scores (Raffel et al. 2020)",
  configSchema: t5RelativeSchema,
  positionDims: 1,
  create(config, stack) {
    const { numBuckets, maxDistance } = config;
    const heads = stack.heads;
    const values = new Float32Array(numBuckets * heads);
    for (let i = 0; i < values.length; i++) values[i] = stack.rng.normal() * 0.02;
    // A bias, not a weight matrix: no weight decay (like norm gains).
    const table = createParameter(stack.backend, `${stack.prefix}rel_bias`, values, [numBuckets, heads], false);
    const bidirectional = stack.attention !== 'causal';
    const rows = (tape: Tape, firstQuery: number, queries: number, keys: number) => {
      const ids = new Int32Array(heads * queries * keys);
      for (let r = 0; r < queries; r++)
        for (let j = 0; j < keys; j++) {
          const bucket = relativePositionBucket(j - (firstQuery + r), bidirectional, numBuckets, maxDistance);
          for (let h = 0; h < heads; h++) ids[(h * queries + r) * keys + j] = bucket * heads + h;
        }
      const column = ops.reshape(tape, tape.param(table), [numBuckets * heads, 1]);
      const gathered = ops.embedding(tape, tape.own(stack.backend.fromArray(ids, [heads * queries * keys], 'i32')), column);
      return ops.reshape(tape, gathered, [heads, queries, keys]);
    };
    return {
      params: [table],
      attentionBias: (tape, t) => rows(tape, 0, t, t),
      attentionBiasRows: rows,
    };
  },
};
