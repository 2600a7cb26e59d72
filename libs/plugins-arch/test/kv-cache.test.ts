import { afterAll, describe, expect, it } from 'vitest';
import {
  Rng,
  Tape,
  createReferenceBackend,
  createWasmBackend,
  createWebGpuBackend,
  object,
  uploadBatch,
  type Backend,
  type Batch,
  type DecodingStep,
  type Model,
  type PositionalEncodingPlugin,
} from '@unilab/core';
import { architecture, buildModel, rawConfig } from './models.ts';
// The device comes from the runtime edge (libs/runner), as in an application.
import { webgpuOrSkip } from '../../runner/test/webgpu-fixture.ts';

/**
 * The key/value cache (kv-cache.ts) must give exactly the logits of a full forward over the same sequence: every
 * architecture that decodes, every positional encoding it takes, a bidirectional prefix appended in one step and
 * the rest one or two tokens at a time. Compared bit for bit, on the reference and the WASM backends.
 */
const VOCAB = 23;

/** One sequence as the full forward reads it, and how the cached path appends it. */
interface Sequence {
  tokens: number[];
  positions: number[];
  blockPositions?: number[];
  /** The batch's prefixEnd (the same for every token of the row, as the objectives make it). */
  prefixEnd: number;
  /** Tokens per decoding step, in order; they add up to the sequence's length. */
  steps: number[];
  encoder?: number[];
}

function fullBatch(s: Sequence): Batch {
  const t = s.tokens.length;
  const batch: Batch = {
    batchSize: 1,
    seqLen: t,
    tokens: Int32Array.from(s.tokens),
    targets: new Int32Array(t),
    lossMask: new Float32Array(t),
    segmentIds: new Int32Array(t),
    prefixEnd: new Int32Array(t).fill(s.prefixEnd),
    positions: Int32Array.from(s.positions),
  };
  if (s.blockPositions) batch.blockPositions = Int32Array.from(s.blockPositions);
  if (s.encoder) {
    const e = s.encoder.length;
    batch.encoder = {
      tokens: Int32Array.from(s.encoder),
      encoderLen: e,
      segmentIds: new Int32Array(e),
      prefixEnd: new Int32Array(e).fill(e),
      positions: Int32Array.from({ length: e }, (_, i) => i),
    };
  }
  return batch;
}

async function fullLogits(model: Model, backend: Backend, s: Sequence): Promise<Float32Array> {
  const tape = new Tape(backend, false);
  try {
    return (await backend.read(model.forward(tape, uploadBatch(tape, fullBatch(s))).value)) as Float32Array;
  } finally {
    tape.release();
  }
}

async function cachedLogits(model: Model, backend: Backend, s: Sequence, capacity: number): Promise<Float32Array> {
  const session = model.startDecoding!({
    capacity,
    encoder: s.encoder && { tokens: Int32Array.from(s.encoder), positions: Int32Array.from(s.encoder, (_, i) => i) },
  });
  if (!session) throw new Error('expected a decoding session');
  const out = new Float32Array(s.tokens.length * VOCAB);
  let at = 0;
  try {
    for (const n of s.steps) {
      const slice = (a: number[]) => Int32Array.from(a.slice(at, at + n));
      const step: DecodingStep = {
        tokens: slice(s.tokens),
        positions: slice(s.positions),
        prefixEnd: new Int32Array(n).fill(s.prefixEnd),
      };
      if (s.blockPositions) step.blockPositions = slice(s.blockPositions);
      const tape = new Tape(backend, false);
      try {
        out.set((await backend.read(session.append(tape, step).value)) as Float32Array, at * VOCAB);
      } finally {
        tape.release();
      }
      at += n;
    }
    expect(session.length).toBe(s.tokens.length);
  } finally {
    session.dispose();
  }
  return out;
}

const rng = new Rng(11);
const randomTokens = (n: number) => Array.from({ length: n }, () => rng.int(VOCAB));
const counting = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A prompt of 7 read in one step (bidirectionally where the architecture has a prefix), then 9 tokens in steps of 1 and 2. */
function sequenceFor(name: string): Sequence {
  const steps = [7, 1, 1, 2, 1, 1, 1, 2];
  if (name === 'encoder-decoder') return { tokens: randomTokens(16), positions: counting(16), prefixEnd: 0, steps, encoder: randomTokens(9) };
  if (name === 'glm') {
    // Part A: 6 tokens and [gMASK] (bidirectional); Part B: [sop] and the span, all at the mask's position.
    const tokens = randomTokens(16);
    return {
      tokens,
      positions: [...counting(7), ...new Array(9).fill(6)],
      blockPositions: [...new Array(7).fill(0), ...counting(9).map((i) => i + 1)],
      prefixEnd: 7,
      steps,
    };
  }
  return { tokens: randomTokens(16), positions: counting(16), prefixEnd: name === 'decoder' ? 0 : 7, steps };
}

const ONE_D = ['rope', 'learned-absolute', 'sinusoidal', 'alibi', 't5-relative'];
const CASES: [string, string][] = [
  ...[...ONE_D, 'none'].map((e) => ['decoder', e] as [string, string]),
  ...ONE_D.map((e) => ['prefix-lm', e] as [string, string]),
  ...ONE_D.map((e) => ['unilm', e] as [string, string]),
  ['glm', 'rope-2d'],
  ['glm', 'glm-2d'],
  ...ONE_D.map((e) => ['encoder-decoder', e] as [string, string]),
];

describe('key/value cache: cached decoding gives the full forward\'s logits bit for bit', async () => {
  const wasm = await createWasmBackend(undefined, { threads: 2 });
  const device = await webgpuOrSkip();
  const gpu = device && createWebGpuBackend(device.device);
  afterAll(() => {
    wasm.close();
    gpu?.destroy();
    device?.release();
  });
  const backends: [string, Backend][] = [
    ['reference', createReferenceBackend()],
    ['wasm', wasm],
    ...(gpu ? [['webgpu', gpu] as [string, Backend]] : []),
  ];
  for (const [backendName, backend] of backends)
    it.each(CASES)(`${backendName}: %s with %s positions`, async (name, encoding) => {
      // kvHeads 1 < heads 2: the cache holds grouped-query keys, as the attention kernels read them.
      const model = buildModel(name, backend, VOCAB, rawConfig(name, 2, { dModel: 16, heads: 2, kvHeads: 1, positionalEncoding: encoding }));
      const s = sequenceFor(name);
      const full = await fullLogits(model, backend, s);
      // A capacity above the sequence's length: rows not written yet must stay invisible.
      const cached = await cachedLogits(model, backend, s, 24);
      expect(Array.from(cached)).toEqual(Array.from(full));
    });
});

describe('key/value cache: sessions', () => {
  const backend = createReferenceBackend();

  it('truncate rewinds to a shared context: another continuation gets its own full-forward logits', async () => {
    const model = buildModel('prefix-lm', backend, VOCAB, rawConfig('prefix-lm', 1, { dModel: 16, heads: 2, positionalEncoding: 'alibi' }));
    const context = randomTokens(5);
    const session = model.startDecoding!({ capacity: 12 })!;
    const run = async (tokens: number[], prefixEnd: number) => {
      const tape = new Tape(backend, false);
      const n = tokens.length;
      const from = session.length;
      const step = { tokens: Int32Array.from(tokens), positions: Int32Array.from(counting(n), (i) => from + i), prefixEnd: new Int32Array(n).fill(prefixEnd) };
      const logits = (await backend.read(session.append(tape, step).value)) as Float32Array;
      tape.release();
      return logits;
    };
    await run(context, 5);
    await run(randomTokens(4), 5);
    session.truncate(5);
    const second = randomTokens(3);
    const cached = await run(second, 5);
    const full = await fullLogits(model, backend, { tokens: [...context, ...second], positions: counting(8), prefixEnd: 5, steps: [] });
    expect(Array.from(cached)).toEqual(Array.from(full.subarray(5 * VOCAB)));
    session.dispose();
  });

  it('refuses a recording tape, a step past the capacity and a prefix reaching tokens not appended yet', () => {
    const model = buildModel('decoder', backend, VOCAB, rawConfig('decoder', 1, { dModel: 16, heads: 2 }));
    const session = model.startDecoding!({ capacity: 4 })!;
    const step = (n: number, prefixEnd = 0) => ({ tokens: new Int32Array(n), positions: Int32Array.from(counting(n)), prefixEnd: new Int32Array(n).fill(prefixEnd) });
    expect(() => session.append(new Tape(backend, true), step(1))).toThrow('pass a tape that does not record');
    const tape = new Tape(backend, false);
    expect(() => session.append(tape, step(5))).toThrow("exceed the session's capacity of 4");
    expect(() => session.append(tape, step(2, 3))).toThrow('prefixEnd[0] = 3 reaches past the 2 tokens held after this step');
    expect(() => session.truncate(1)).toThrow('cannot truncate 0 tokens to 1');
    tape.release();
    session.dispose();
    expect(() => session.append(tape, step(1))).toThrow('already disposed');
  });

  it('an encoding with a full attention bias but no bias rows cannot decode incrementally: startDecoding says so with null', () => {
    const fullOnly: PositionalEncodingPlugin<Record<string, never>> = {
      kind: 'positional-encoding',
      name: 'full-bias-only',
      description: 'a plugin written before attentionBiasRows existed',
      configSchema: object({}),
      positionDims: 1,
      create: () => ({ params: [], attentionBias: (tape, t) => tape.param({ value: backend.zeros([2, t, t]) } as never) }),
    };
    const plugin = architecture('decoder');
    const model = plugin.create(plugin.configSchema.parse({ layers: 1, dModel: 16, heads: 2, positionalEncoding: 'full-bias-only' }, 'model'), {
      backend,
      vocabSize: VOCAB,
      rng: new Rng(1),
      positionalEncoding: () => fullOnly,
    });
    expect(model.startDecoding!({ capacity: 8 })).toBeNull();
  });
});
