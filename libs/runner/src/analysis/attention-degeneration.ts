import { Tape, uploadBatch, type Backend, type Batch, type BatchConsumption, type Model, type Tokenizer } from '@unilab/core';
import { prepareData } from '../data.ts';
import type { LoadedModel } from '../generate.ts';
import type { ModelPresentation } from '../inference/presentation.ts';
import { objectiveLabel } from '../objective-mixture.ts';
import { recordAttention, type AttentionRecord } from './attention-records.ts';

/**
 * Attention degeneration (Fu et al. 2023, "Decoder-only or encoder-decoder? Interpreting language model as a
 * regularized encoder-decoder", arXiv 2304.04052; its abstract): in a decoder-only model the source (the prompt) and the
 * generated tokens share one softmax, so "as the generation step number grows, less and less attention is focused
 * on the source sequence"; an encoder-decoder's cross-attention reads the source through a softmax of its own.
 *
 * Measured per layer at each generation step t (the query that produces the t-th continuation token: the decoder's
 * position P-1+t after a P-token prompt, the encoder-decoder decoder's position t after its start token):
 * - `sourceMass`: the self-attention's probability mass on the prompt's keys, mean over heads (decoder-only models;
 *   null for an encoder-decoder, whose cross-attention puts all of its mass on the source by construction);
 * - `sourceShare`: how much of what attention writes into the residual stream comes from the source,
 *   ‖Wo·s‖ / (‖Wo·s‖ + ‖Wo·g‖), with s and g the value mixtures over source and generated keys (decoder-only:
 *   the two parts of one attention's output; encoder-decoder: the cross-attention's whole output and the decoder
 *   self-attention's). The same quantity for both, so the two kinds of model can be set side by side.
 */
export interface LayerDegeneration {
  layer: number;
  /** Per generation step; null for an encoder-decoder. */
  sourceMass: number[] | null;
  sourceShare: number[];
}

export interface PromptDegeneration {
  architecture: string;
  promptTokens: number;
  /** The continuation measured (greedy tokens of the model, or the reference text). */
  continuation: number[];
  layers: LayerDegeneration[];
}

export interface DegenerationOptions {
  /** Continuation tokens measured. */
  steps: number;
  /** `greedy`: the model's own argmax continuation, as generation proceeds (default); `reference`: given tokens. */
  continuation?: 'greedy' | { reference: readonly number[] };
}

/**
 * What the analysis needs of a loaded model: the model, which must expose its attention sites (Model.attentionSites),
 * and what its architecture declares it reads (presentation.consumes: its batch form and masks).
 */
export type DegenerationModel = Pick<LoadedModel, 'model' | 'tokenizer' | 'backend' | 'seqLen'> & { presentation: Pick<ModelPresentation, 'consumes'> };

/** Degeneration curves of one prompt: the continuation is produced (or given), then one forward over it is read. */
export async function attentionDegeneration(loaded: DegenerationModel, prompt: readonly number[], options: DegenerationOptions): Promise<PromptDegeneration> {
  const { model, backend } = loaded;
  const reads = readsPrompts(loaded);
  const room = continuationRoom(reads, loaded.seqLen, prompt.length);
  if (prompt.length < 1 || options.steps < 1 || options.steps > room)
    throw new Error(`attention degeneration: a ${prompt.length}-token prompt and ${options.steps} steps do not fit the model's context of ${loaded.seqLen} (at most ${room} steps)`);
  const continuation =
    options.continuation === undefined || options.continuation === 'greedy'
      ? await greedyContinuation(model, backend, reads, loaded.tokenizer, prompt, options.steps)
      : Array.from(options.continuation.reference.slice(0, options.steps));
  if (continuation.length === 0) throw new Error('attention degeneration: the model ended its continuation at once (eos); nothing to measure');
  const records = await recordAttention(model, backend, promptBatch(reads, prompt, continuation, loaded.tokenizer.specialTokens.pad), 'attention degeneration');
  const layers = reads.form === 'encoder-decoder' ? encoderDecoderLayers(records, continuation.length) : stackLayers(records, prompt.length, continuation.length);
  return { architecture: model.architecture, promptTokens: prompt.length, continuation, layers };
}

/** The architecture's declared reading, refused when it cannot continue a prompt (an encoder alone honours no causal mask). */
function readsPrompts(loaded: DegenerationModel): BatchConsumption {
  const reads = loaded.presentation.consumes;
  if (!reads.masks.includes('causal'))
    throw new Error(`attention degeneration: architecture "${loaded.model.architecture}" honours no causal mask (it reads ${reads.masks.join(', ')}), so it generates no continuation to measure`);
  return reads;
}

/** Continuation steps that fit the context: an encoder-decoder's decoder holds its start token and the steps. */
function continuationRoom(reads: BatchConsumption, seqLen: number, promptTokens: number): number {
  return reads.form === 'encoder-decoder' ? seqLen - 1 : seqLen - promptTokens;
}

/**
 * The prompt as plain text, read as the architecture declares it reads an input: a single stack that honours a
 * prefix reads the prompt bidirectionally (prefix-lm, UniLM; PALM's partial attention), one that honours only the
 * causal mask left to right; an encoder-decoder's encoder reads it and its decoder starts from pad (T5's start
 * token), then reads the continuation.
 */
export function promptBatch(reads: BatchConsumption, prompt: readonly number[], continuation: readonly number[], pad: number): Batch {
  const row = (tokens: readonly number[], prefixEnd: number): Batch => ({
    batchSize: 1,
    seqLen: tokens.length,
    tokens: Int32Array.from(tokens),
    targets: new Int32Array(tokens.length),
    lossMask: new Float32Array(tokens.length),
    segmentIds: new Int32Array(tokens.length),
    prefixEnd: new Int32Array(tokens.length).fill(prefixEnd),
    positions: Int32Array.from({ length: tokens.length }, (_, i) => i),
  });
  if (reads.form === 'single-stack') return row([...prompt, ...continuation], reads.masks.includes('prefix') ? prompt.length : 0);
  const batch = row([pad, ...continuation], 0);
  const e = prompt.length;
  batch.encoder = { tokens: Int32Array.from(prompt), encoderLen: e, segmentIds: new Int32Array(e), prefixEnd: new Int32Array(e).fill(e), positions: Int32Array.from({ length: e }, (_, i) => i) };
  return batch;
}

/** The model's argmax continuation of the prompt, special tokens excluded, until eos or `steps` tokens. */
async function greedyContinuation(model: Model, backend: Backend, reads: BatchConsumption, tokenizer: Tokenizer, prompt: readonly number[], steps: number): Promise<number[]> {
  const eos = tokenizer.specialTokens.eos;
  const special = new Set(Object.values(tokenizer.specialTokens));
  const continuation: number[] = [];
  while (continuation.length < steps) {
    const batch = promptBatch(reads, prompt, continuation, tokenizer.specialTokens.pad);
    const tape = new Tape(backend, false);
    let best = -1;
    try {
      const logits = await backend.read(model.forward(tape, uploadBatch(tape, batch)).value);
      const v = tokenizer.vocabSize;
      const last = (batch.seqLen - 1) * v;
      for (let id = 0; id < v; id++) if ((id === eos || !special.has(id)) && (best < 0 || logits[last + id] > logits[last + best])) best = id;
    } finally {
      tape.release();
    }
    if (best === eos) break;
    continuation.push(best);
  }
  return continuation;
}

/** One stack: every self-attention site reads prompt + continuation. */
function stackLayers(records: readonly AttentionRecord[], p: number, steps: number): LayerDegeneration[] {
  return records
    .filter((r) => r.site.attends === 'self')
    .map((record) => {
      const read = readAttention(record);
      const wo = outputProjection(record);
      const sourceMass: number[] = [];
      const sourceShare: number[] = [];
      for (let t = 0; t < steps; t++) {
        const i = p - 1 + t;
        const { weights, mix } = read.query(i, i + 1);
        let mass = 0;
        for (const w of weights) for (let j = 0; j < p; j++) mass += w[j];
        sourceMass.push(mass / weights.length);
        sourceShare.push(share(project(mix((j) => j < p), wo), project(mix((j) => j >= p), wo)));
      }
      return { layer: record.site.layer, sourceMass, sourceShare };
    });
}

/** Per decoder layer its self-attention (the generated tokens) and its cross-attention (the source); the encoder's are not read. */
function encoderDecoderLayers(records: readonly AttentionRecord[], steps: number): LayerDegeneration[] {
  const decoder = records.filter((r) => r.site.stack === 'decoder');
  return decoder
    .filter((r) => r.site.attends === 'self')
    .map((selfRecord) => {
      const crossRecord = decoder.find((r) => r.site.attends === 'cross' && r.site.layer === selfRecord.site.layer);
      if (!crossRecord) throw new Error(`attention degeneration: decoder layer ${selfRecord.site.layer} declares no cross-attention site`);
      const self = readAttention(selfRecord);
      const cross = readAttention(crossRecord);
      const selfWo = outputProjection(selfRecord);
      const crossWo = outputProjection(crossRecord);
      const sourceShare: number[] = [];
      for (let t = 0; t < steps; t++) {
        const generated = self.query(t, t + 1).mix(() => true);
        const source = cross.query(t, crossRecord.keys).mix(() => true);
        sourceShare.push(share(project(source, crossWo), project(generated, selfWo)));
      }
      return { layer: selfRecord.site.layer, sourceMass: null, sourceShare };
    });
}

/** Query i over keys 0..visible-1 of a recorded attention: each head's softmax weights, and the value mixture over a subset of keys. */
function readAttention(record: AttentionRecord) {
  const { heads, kvHeads, headDim: d, values, output } = record;
  return {
    query(i: number, visible: number) {
      const weights: Float64Array[] = [];
      for (let h = 0; h < heads; h++) {
        const w = new Float64Array(visible);
        let max = -Infinity;
        for (let j = 0; j < visible; j++) max = Math.max(max, (w[j] = record.score(h, i, j)));
        let sum = 0;
        for (let j = 0; j < visible; j++) sum += w[j] = Math.exp(w[j] - max);
        for (let j = 0; j < visible; j++) w[j] /= sum;
        weights.push(w);
      }
      const mix = (keep: (j: number) => boolean): Float64Array => {
        const out = new Float64Array(heads * d);
        for (let h = 0; h < heads; h++) {
          const g = Math.floor(h / (heads / kvHeads));
          for (let j = 0; j < visible; j++) {
            if (!keep(j)) continue;
            const a = weights[h][j];
            for (let x = 0; x < d; x++) out[h * d + x] += a * values[(j * kvHeads + g) * d + x];
          }
        }
        return out;
      };
      // The weights are recomputed from q, k and the bias with the mask the query sees (its first `visible` keys):
      // their mixture of every visible value must be the op's own output, or the mask or the bias was read wrong.
      const all = mix(() => true);
      for (let x = 0; x < heads * d; x++)
        if (Math.abs(all[x] - output[i * heads * d + x]) > 1e-3 * (1 + Math.abs(output[i * heads * d + x])))
          throw new Error(`attention degeneration: recomputed attention of query ${i} over ${visible} keys differs from the model's (${all[x]} vs ${output[i * heads * d + x]})`);
      return { weights, mix };
    },
  };
}

/** The site's output projection Wo [heads·headDim, dModel], as the model declared it. */
function outputProjection(record: AttentionRecord): { w: ArrayLike<number>; rows: number; cols: number } {
  const [rows, cols] = record.site.output.value.shape;
  return { w: record.outputWeights, rows, cols };
}

/** x · Wo (the attention layer's output projection, x [d] row vector, Wo [d, d]). */
function project(x: Float64Array, wo: { w: ArrayLike<number>; rows: number; cols: number }): Float64Array {
  const out = new Float64Array(wo.cols);
  for (let r = 0; r < wo.rows; r++) {
    const xr = x[r];
    if (xr === 0) continue;
    for (let c = 0; c < wo.cols; c++) out[c] += xr * wo.w[r * wo.cols + c];
  }
  return out;
}

function share(source: Float64Array, generated: Float64Array): number {
  const s = Math.hypot(...source);
  const g = Math.hypot(...generated);
  return s + g === 0 ? 0 : s / (s + g);
}

/** Per layer and step, the mean over prompts (all measured with the same number of steps). */
export function meanDegeneration(prompts: readonly PromptDegeneration[]): LayerDegeneration[] {
  if (prompts.length === 0) return [];
  const steps = Math.min(...prompts.map((p) => p.continuation.length));
  const mean = (pick: (p: PromptDegeneration) => number[] | null) => {
    const rows = prompts.map(pick);
    if (rows.some((r) => r === null)) return null;
    return Array.from({ length: steps }, (_, t) => rows.reduce((s, r) => s + r![t], 0) / rows.length);
  };
  return prompts[0].layers.map((l, k) => ({
    layer: l.layer,
    sourceMass: mean((p) => p.layers[k].sourceMass),
    sourceShare: mean((p) => p.layers[k].sourceShare)!,
  }));
}

/**
 * The held-out prompts of the analysis: from documents long enough for prompt + steps, the window in each one's middle
 * (documents of one corpus often open alike: many State of the Union addresses begin "To the Senate and House of
 * Representatives"), its first `promptTokens` tokens the prompt and the next `steps` the reference continuation.
 */
export function degenerationPrompts(documents: readonly ArrayLike<number>[], promptTokens: number, steps: number, count: number): { prompt: number[]; reference: number[] }[] {
  const need = promptTokens + steps;
  const take = (d: ArrayLike<number>, from: number, n: number) => Array.from({ length: n }, (_, i) => d[from + i]);
  return documents
    .filter((d) => d.length >= need)
    .slice(0, count)
    .map((d) => {
      const start = Math.floor((d.length - need) / 2);
      return { prompt: take(d, start, promptTokens), reference: take(d, start + promptTokens, steps) };
    });
}

export interface HeldOutDegenerationOptions {
  /** Held-out documents used as prompts (default 8). */
  prompts?: number;
  /** Prompt length in tokens (default a quarter of the context). */
  promptTokens?: number;
  /** Continuation steps (default: the rest of the context, at most 3 × the prompt). */
  steps?: number;
  continuation?: 'greedy' | 'reference';
}

export interface HeldOutDegeneration {
  architecture: string;
  objective: string;
  promptTokens: number;
  steps: number;
  continuation: 'greedy' | 'reference';
  /** One curve set per prompt (for intervals over prompts). */
  prompts: PromptDegeneration[];
  /** Their mean per layer and step. */
  mean: LayerDegeneration[];
}

/**
 * The analysis on a checkpoint's own held-out text: the first tokens of held-out documents as prompts, the
 * continuation greedy (as generation proceeds) or the documents' own next tokens.
 */
export async function heldOutDegeneration(loaded: LoadedModel, options: HeldOutDegenerationOptions = {}): Promise<HeldOutDegeneration> {
  if (loaded.spec.data.shards) throw new Error('attention degeneration reads held-out text of a corpus; this checkpoint was trained on prepared shards');
  const promptTokens = options.promptTokens ?? Math.max(1, Math.floor(loaded.seqLen / 4));
  const room = continuationRoom(readsPrompts(loaded), loaded.seqLen, promptTokens);
  const steps = options.steps ?? Math.min(room, 3 * promptTokens);
  const continuation = options.continuation ?? 'greedy';
  const data = await prepareData(loaded.spec.data.corpus, loaded.spec.data.heldOutFraction, loaded.tokenizer);
  const chosen = degenerationPrompts(data.heldOut.length > 0 ? data.heldOut : data.train, promptTokens, steps, options.prompts ?? 8);
  if (chosen.length === 0) throw new Error(`no held-out document of ${loaded.spec.data.corpus} has ${promptTokens + steps} tokens; lower the prompt length or the steps`);
  const prompts: PromptDegeneration[] = [];
  for (const p of chosen)
    prompts.push(await attentionDegeneration(loaded, p.prompt, { steps, continuation: continuation === 'greedy' ? 'greedy' : { reference: p.reference } }));
  // A greedy continuation may stop early at eos: curves are compared over the steps every prompt reached.
  return { architecture: loaded.model.architecture, objective: objectiveLabel(loaded.spec.objective), promptTokens, steps: Math.min(...prompts.map((p) => p.continuation.length)), continuation, prompts, mean: meanDegeneration(prompts) };
}
