import { Tape, uploadBatch, type Backend, type Batch, type Model, type OpRecord, type Tokenizer } from '@unilab/core';
import { prepareData } from '../data.ts';
import type { LoadedModel } from '../generate.ts';
import { objectiveLabel } from '../objective-mixture.ts';

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

/** Degeneration curves of one prompt: the continuation is produced (or given), then one forward over it is read. */
export async function attentionDegeneration(
  loaded: Pick<LoadedModel, 'model' | 'tokenizer' | 'backend' | 'seqLen' | 'spec'>,
  prompt: readonly number[],
  options: DegenerationOptions,
): Promise<PromptDegeneration> {
  const { model, backend } = loaded;
  const isEncoderDecoder = model.architecture === 'encoder-decoder';
  const room = isEncoderDecoder ? loaded.seqLen - 1 : loaded.seqLen - prompt.length;
  if (prompt.length < 1 || options.steps < 1 || options.steps > room)
    throw new Error(`attention degeneration: a ${prompt.length}-token prompt and ${options.steps} steps do not fit the model's context of ${loaded.seqLen} (at most ${room} steps)`);
  const continuation =
    options.continuation === undefined || options.continuation === 'greedy'
      ? await greedyContinuation(model, backend, loaded.tokenizer, prompt, options.steps)
      : Array.from(options.continuation.reference.slice(0, options.steps));
  if (continuation.length === 0) throw new Error('attention degeneration: the model ended its continuation at once (eos); nothing to measure');
  const batch = promptBatch(model.architecture, prompt, continuation, loaded.tokenizer.specialTokens.pad);
  const tape = new Tape(backend, false, true);
  try {
    model.forward(tape, uploadBatch(tape, batch));
    const attentions = tape.forwardRecords().filter((op) => op.op === 'attention');
    const layers = isEncoderDecoder
      ? await encoderDecoderLayers(model, backend, attentions, continuation.length)
      : await decoderLayers(model, backend, attentions, prompt.length, continuation.length);
    return { architecture: model.architecture, promptTokens: prompt.length, continuation, layers };
  } finally {
    tape.release();
  }
}

/**
 * The prompt as plain text, read as each architecture reads an input: left to right by a decoder, as a bidirectional
 * prefix by a mask-following stack (prefix-lm, UniLM; PALM's partial attention), by the encoder of an
 * encoder-decoder, whose decoder starts from pad (T5's start token) and reads the continuation.
 */
export function promptBatch(architecture: string, prompt: readonly number[], continuation: readonly number[], pad: number): Batch {
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
  if (architecture === 'decoder') return row([...prompt, ...continuation], 0);
  if (architecture === 'prefix-lm' || architecture === 'unilm') return row([...prompt, ...continuation], prompt.length);
  if (architecture !== 'encoder-decoder')
    throw new Error(`attention degeneration: architecture "${architecture}" is not measured (decoder, prefix-lm, unilm, encoder-decoder are)`);
  const batch = row([pad, ...continuation], 0);
  const e = prompt.length;
  batch.encoder = { tokens: Int32Array.from(prompt), encoderLen: e, segmentIds: new Int32Array(e), prefixEnd: new Int32Array(e).fill(e), positions: Int32Array.from({ length: e }, (_, i) => i) };
  return batch;
}

/** The model's argmax continuation of the prompt, special tokens excluded, until eos or `steps` tokens. */
async function greedyContinuation(model: Model, backend: Backend, tokenizer: Tokenizer, prompt: readonly number[], steps: number): Promise<number[]> {
  const eos = tokenizer.specialTokens.eos;
  const special = new Set(Object.values(tokenizer.specialTokens));
  const continuation: number[] = [];
  while (continuation.length < steps) {
    const batch = promptBatch(model.architecture, prompt, continuation, tokenizer.specialTokens.pad);
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

/** One stack: every attention op is a layer's self-attention over prompt + continuation. */
async function decoderLayers(model: Model, backend: Backend, attentions: readonly OpRecord[], p: number, steps: number): Promise<LayerDegeneration[]> {
  const out: LayerDegeneration[] = [];
  for (const [layer, op] of attentions.entries()) {
    const read = await readAttention(backend, op);
    const wo = await outputProjection(model, backend, `layers.${layer}.wo`);
    const sourceMass: number[] = [];
    const sourceShare: number[] = [];
    for (let t = 0; t < steps; t++) {
      const i = p - 1 + t;
      const { weights, mix } = read.query(i, i + 1);
      let mass = 0;
      for (const w of weights) for (let j = 0; j < p; j++) mass += w[j];
      sourceMass.push(mass / weights.length);
      const source = mix((j) => j < p);
      const generated = mix((j) => j >= p);
      sourceShare.push(share(project(source, wo), project(generated, wo)));
    }
    out.push({ layer, sourceMass, sourceShare });
  }
  return out;
}

/** Encoder self-attention first (skipped), then per decoder layer its self-attention and its cross-attention. */
async function encoderDecoderLayers(model: Model, backend: Backend, attentions: readonly OpRecord[], steps: number): Promise<LayerDegeneration[]> {
  const { encoderLayers, decoderLayers: layers } = model.config as { encoderLayers: number; decoderLayers: number };
  if (attentions.length !== encoderLayers + 2 * layers)
    throw new Error(`attention degeneration: expected ${encoderLayers + 2 * layers} attention ops in the encoder-decoder, found ${attentions.length}`);
  const out: LayerDegeneration[] = [];
  for (let layer = 0; layer < layers; layer++) {
    const self = await readAttention(backend, attentions[encoderLayers + 2 * layer]);
    const cross = await readAttention(backend, attentions[encoderLayers + 2 * layer + 1]);
    const selfWo = await outputProjection(model, backend, `decoder.layers.${layer}.wo`);
    const crossWo = await outputProjection(model, backend, `decoder.layers.${layer}.cross_wo`);
    const sourceShare: number[] = [];
    for (let t = 0; t < steps; t++) {
      const generated = self.query(t, t + 1).mix(() => true);
      const source = cross.query(t, cross.keys).mix(() => true);
      sourceShare.push(share(project(source, crossWo), project(generated, selfWo)));
    }
    out.push({ layer, sourceMass: null, sourceShare });
  }
  return out;
}

/** q [1, Tq, H, D], k/v [1, Tk, Hkv, D] and the optional bias [H, Tq, Tk] of one attention op, read back. */
async function readAttention(backend: Backend, op: OpRecord) {
  const [q, k, v, bias] = op.inputs;
  const [, tq, heads, d] = q.value.shape;
  const [, tk, kvHeads] = k.value.shape;
  const actual = await backend.read(op.output.value);
  const qv = await backend.read(q.value);
  const kv = await backend.read(k.value);
  const vv = await backend.read(v.value);
  const bv = bias ? await backend.read(bias.value) : null;
  const scale = 1 / Math.sqrt(d);
  return {
    keys: tk,
    /** Query i over keys 0..visible-1: each head's softmax weights, and the value mixture over a subset of keys. */
    query(i: number, visible: number) {
      const weights: Float64Array[] = [];
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / (heads / kvHeads));
        const w = new Float64Array(visible);
        let max = -Infinity;
        for (let j = 0; j < visible; j++) {
          let s = 0;
          for (let x = 0; x < d; x++) s += qv[(i * heads + h) * d + x] * kv[(j * kvHeads + g) * d + x];
          w[j] = s * scale + (bv ? bv[(h * tq + i) * tk + j] : 0);
          max = Math.max(max, w[j]);
        }
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
            for (let x = 0; x < d; x++) out[h * d + x] += a * vv[(j * kvHeads + g) * d + x];
          }
        }
        return out;
      };
      // The weights are recomputed from q, k and the bias with the mask the query sees (its first `visible` keys):
      // their mixture of every visible value must be the op's own output, or the mask or the bias was read wrong.
      const all = mix(() => true);
      for (let x = 0; x < heads * d; x++)
        if (Math.abs(all[x] - actual[i * heads * d + x]) > 1e-3 * (1 + Math.abs(actual[i * heads * d + x])))
          throw new Error(`attention degeneration: recomputed attention of query ${i} over ${visible} keys differs from the model's (${all[x]} vs ${actual[i * heads * d + x]})`);
      return { weights, mix };
    },
  };
}

async function outputProjection(model: Model, backend: Backend, name: string): Promise<{ w: ArrayLike<number>; rows: number; cols: number }> {
  const p = model.params.find((x) => x.name === name);
  if (!p) throw new Error(`attention degeneration: ${model.architecture} has no parameter ${name}`);
  const [rows, cols] = p.value.shape;
  return { w: await backend.read(p.value), rows, cols };
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
  const room = loaded.model.architecture === 'encoder-decoder' ? loaded.seqLen - 1 : loaded.seqLen - promptTokens;
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
