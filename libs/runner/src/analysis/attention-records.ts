import { Tape, modelReading, uploadBatch, type AttentionSite, type Backend, type Batch, type Model, type OpRecord } from '@unilab/core';

/**
 * The attention of one forward pass, read back for the analyses: the forward runs once on a tape that keeps every
 * op's inputs, and each recorded `attention` op is paired with the site the model declares for it
 * (Model.attentionSites, core/plugins/model-readings.ts), so the analyses know a layer's stack, whether it is a
 * cross-attention and its output projection without knowing any parameter's name.
 */
export interface AttentionRecord {
  site: AttentionSite;
  queries: number;
  keys: number;
  heads: number;
  /** Key/value heads (fewer than `heads` under grouped-query attention; head h reads group h / (heads / kvHeads)). */
  kvHeads: number;
  headDim: number;
  /** Head h's score of query i on key j before the softmax: q·k/√d plus the encoding's bias (ALiBi, T5 buckets). */
  score(h: number, i: number, j: number): number;
  /** v [keys, kvHeads, headDim], row 0 of the batch. */
  values: Float32Array;
  /** The op's output [queries, heads, headDim], row 0 of the batch. */
  output: Float32Array;
  /** The site's output projection Wo, laid out as site.output's shape [heads · headDim, dModel]. */
  outputWeights: Float32Array;
}

/** Every attention op of `model`'s forward on `batch`, with its site; `tool` names the analysis in errors. */
export async function recordAttention(model: Model, backend: Backend, batch: Batch, tool: string): Promise<AttentionRecord[]> {
  const sites = modelReading(model, 'attentionSites', tool);
  const tape = new Tape(backend, false, true);
  try {
    model.forward(tape, uploadBatch(tape, batch));
    const ops = tape.forwardRecords().filter((op) => op.op === 'attention');
    if (ops.length !== sites.length)
      throw new Error(`${tool}: architecture "${model.architecture}" declares ${sites.length} attention sites, but its forward recorded ${ops.length} attention ops`);
    const records: AttentionRecord[] = [];
    for (const [k, op] of ops.entries()) records.push(await readRecord(backend, sites[k], op));
    return records;
  } finally {
    tape.release();
  }
}

/** q [1, Tq, H, D], k/v [1, Tk, Hkv, D] and the optional bias [H, Tq, Tk] of one attention op, read back. */
async function readRecord(backend: Backend, site: AttentionSite, op: OpRecord): Promise<AttentionRecord> {
  const [q, k, v, bias] = op.inputs;
  const [, queries, heads, headDim] = q.value.shape;
  const [, keys, kvHeads] = k.value.shape;
  const qv = await backend.read(q.value);
  const kv = await backend.read(k.value);
  const bv = bias ? await backend.read(bias.value) : null;
  const scale = 1 / Math.sqrt(headDim);
  const group = heads / kvHeads;
  return {
    site,
    queries,
    keys,
    heads,
    kvHeads,
    headDim,
    score(h, i, j) {
      const g = Math.floor(h / group);
      let s = 0;
      for (let x = 0; x < headDim; x++) s += qv[(i * heads + h) * headDim + x] * kv[(j * kvHeads + g) * headDim + x];
      return s * scale + (bv ? bv[(h * queries + i) * keys + j] : 0);
    },
    values: Float32Array.from(await backend.read(v.value)),
    output: Float32Array.from(await backend.read(op.output.value)),
    outputWeights: Float32Array.from(await backend.read(site.output.value)),
  };
}
