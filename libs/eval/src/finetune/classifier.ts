import {
  PAD_SEGMENT,
  Var,
  createParameter,
  modelReading,
  ops,
  uploadBatch,
  type Backend,
  type Batch,
  type BatchConsumption,
  type Model,
  type Parameter,
  type Rng,
  type Tape,
  type Tokenizer,
} from '@unilab/core';

/**
 * Sequence classification on a pre-trained network: the input text (ended by eos, as every training document was)
 * goes through the network the way its architecture declares it reads inputs (ArchitecturePlugin.consumes):
 *   causal          one stack that honours only the causal mask (a decoder): left to right over the text
 *   bidirectional   one stack that honours a prefix or a bidirectional mask (prefix-lm, unilm, glm, encoder): the
 *                   text is a bidirectional prefix, as these models read their inputs
 *   encoder         an encoder-decoder: the encoder reads the text; the decoder reads its start token (pad, as in
 *                   generation), and its one hidden state, cross-attending the text, is pooled
 * Pooling: `mean` over the text's positions (Sentence-BERT, Reimers & Gurevych 2019), or `last`, the state of the
 * closing eos (GPT-1, Radford et al. 2018 §3.3), which in a causal decoder is the only position that saw the whole
 * text. Mean is the default: it reads every position's state, where `last` relies on the network having learnt to
 * gather the whole passage into one position, which a small, briefly pre-trained model may not have.
 * A head over label indices rather than scoring label words (a verbalizer) because the labels are not single
 * tokens of a byte-level or small BPE vocabulary, and a head is what LoRA and Houlsby et al. train beside their modules.
 * The network must expose its final hidden states (Model.hiddenStates).
 */
export type InputReading = 'causal' | 'bidirectional' | 'encoder';
export type Pooling = 'mean' | 'last';

/** How an architecture reads an input text, from what it declares it consumes. */
export function inputReading(consumes: BatchConsumption): InputReading {
  if (consumes.form === 'encoder-decoder') return 'encoder';
  return consumes.masks.some((m) => m === 'prefix' || m === 'bidirectional') ? 'bidirectional' : 'causal';
}

/** The head: logits = pooled · W + b, W [d, labels] (small Gaussian), b [labels] (zero). Names head.weight, head.bias. */
export interface ClassificationHead {
  weight: Parameter;
  bias: Parameter;
}

/** A head on `model`'s final hidden states; `tool` names what it is for in the error when the model exposes none. */
export function createClassificationHead(backend: Backend, rng: Rng, model: Model, labels: number, tool: string): ClassificationHead {
  const dModel = modelReading(model, 'hiddenStates', tool).width;
  const w = new Float32Array(dModel * labels);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * 0.02;
  return {
    weight: createParameter(backend, 'head.weight', w, [dModel, labels], true),
    bias: createParameter(backend, 'head.bias', new Float32Array(labels), [labels], false),
  };
}

export function headParameters(head: ClassificationHead): Parameter[] {
  return [head.weight, head.bias];
}

/** A batch of texts to classify and the pooling matrix S [B, B·T]: pooled row r = Σ_j S[r, j] · H[j] over flat positions. */
export interface ClassificationBatch {
  batch: Batch;
  pool: Float32Array;
  labels: Int32Array;
}

/** Token ids of each text, cut to `maxTokens` - 1 and closed by eos. */
export function encodeForClassification(tokenizer: Tokenizer, texts: readonly string[], maxTokens: number): number[][] {
  const eos = tokenizer.specialTokens.eos;
  if (eos === undefined) throw new Error('fine-tuning needs a tokenizer with an eos token to close each input');
  return texts.map((text) => [...Array.from(tokenizer.encode(text)).slice(0, maxTokens - 1), eos]);
}

export function classificationBatch(reading: InputReading, pooling: Pooling, inputs: readonly number[][], labels: readonly number[], pad: number): ClassificationBatch {
  const b = inputs.length;
  const longest = Math.max(...inputs.map((x) => x.length));
  const rows = (len: number) => ({
    tokens: new Int32Array(b * len).fill(pad),
    segmentIds: new Int32Array(b * len).fill(PAD_SEGMENT),
    prefixEnd: new Int32Array(b * len),
    positions: new Int32Array(b * len),
  });
  const text = rows(longest);
  inputs.forEach((ids, r) => {
    for (let t = 0; t < ids.length; t++) {
      const at = r * longest + t;
      text.tokens[at] = ids[t];
      text.segmentIds[at] = 0;
      text.positions[at] = t;
      text.prefixEnd[at] = reading === 'causal' ? 0 : ids.length;
    }
  });
  const labelArray = Int32Array.from(labels);
  if (reading !== 'encoder') {
    const seqLen = longest;
    const batch: Batch = { batchSize: b, seqLen, ...text, targets: new Int32Array(b * seqLen), lossMask: new Float32Array(b * seqLen) };
    const pool = new Float32Array(b * b * seqLen);
    inputs.forEach((ids, r) => {
      const from = pooling === 'mean' ? 0 : ids.length - 1;
      for (let t = from; t < ids.length; t++) pool[r * b * seqLen + r * seqLen + t] = 1 / (ids.length - from);
    });
    return { batch, pool, labels: labelArray };
  }
  const batch: Batch = {
    batchSize: b,
    seqLen: 1,
    tokens: new Int32Array(b).fill(pad),
    targets: new Int32Array(b),
    lossMask: new Float32Array(b),
    segmentIds: new Int32Array(b),
    prefixEnd: new Int32Array(b),
    positions: new Int32Array(b),
    encoder: { ...text, encoderLen: longest },
  };
  const pool = new Float32Array(b * b);
  for (let r = 0; r < b; r++) pool[r * b + r] = 1;
  return { batch, pool, labels: labelArray };
}

/**
 * Label logits [batch, labels]: the network's final hidden states H [B, T, d] pooled by the batch's constant matrix
 * S [B, B·T] (pooled = S · H, so the gradient reaches H through linear's backward: no new op), then the head.
 */
export function classifierLogits(tape: Tape, model: Model, head: ClassificationHead, input: ClassificationBatch): Var {
  const be = tape.backend;
  const hidden = modelReading(model, 'hiddenStates', 'a classification head').read(tape, uploadBatch(tape, input.batch));
  const [b, t, d] = hidden.shape;
  const selector = new Var(tape.own(be.fromArray(input.pool, [b, b * t])), false);
  const pooled = ops.linear(tape, selector, ops.reshape(tape, hidden, [b * t, d]));
  return ops.linear(tape, pooled, tape.param(head.weight), tape.param(head.bias));
}

/** Mean cross-entropy of the labels under the classifier's logits. */
export function classificationLoss(tape: Tape, logits: Var, labels: Int32Array): Var {
  const be = tape.backend;
  const n = labels.length;
  const targets = tape.own(be.fromArray(labels, [n], 'i32'));
  const mask = tape.own(be.fromArray(new Float32Array(n).fill(1), [n], 'f32'));
  return ops.crossEntropy(tape, logits, targets, mask);
}
