import { describe, expect, it } from 'vitest';
import { AdamW, Rng, Tape, Trainer, createReferenceBackend, ops, sampleModelGradients, uploadBatch, type Backend, type Batch, type Model, type TuningModules } from '@unilab/core';
import { packBatch } from './batches.ts';
import { architecture, rawConfig } from './models.ts';
import { architecturePlugins } from '../src/index.ts';

// LoRA (Hu et al. 2021) and bottleneck adapters (Houlsby et al. 2019) built into the blocks of every architecture
// family: what they add at initialisation, their gradients, and that the pre-trained weights can be frozen.
const f64 = createReferenceBackend({ precision: 'f64' });
const f32 = createReferenceBackend();

const LORA: TuningModules = { lora: { rank: 2, alpha: 4, targets: ['wq', 'wv', 'cross_wq', 'w_down'] }, seed: 3 };
const ADAPTERS: TuningModules = { adapters: { size: 3 }, seed: 3 };

function build(name: string, backend: Backend, tuning?: TuningModules): Model {
  const plugin = architecture(name);
  const config = plugin.configSchema.parse(rawConfig(name, 2, { dModel: 8, heads: 2, ffnHidden: 12 }), 'model');
  return plugin.create(config, { backend, vocabSize: 11, rng: new Rng(5), tuning });
}

function batchFor(name: string): Batch {
  const layout = { length: 4, mode: { kind: 'prefix' as const, prefix: 2 }, encoderLength: 3 };
  return packBatch([[layout, { ...layout, length: 3 }], [{ ...layout, length: 5 }]], 8, 11, 2, name === 'encoder-decoder' ? 7 : 0).batch;
}

async function logitsOf(backend: Backend, model: Model, batch: Batch): Promise<Float32Array> {
  const tape = new Tape(backend, false);
  try {
    return Float32Array.from(await backend.read(model.forward(tape, uploadBatch(tape, batch)).value));
  } finally {
    tape.release();
  }
}

const families = ['decoder', 'prefix-lm', 'glm', 'encoder-decoder'];

describe('LoRA and adapters in the blocks', () => {
  it.each(families)('%s: LoRA adds its factors and, with B = 0, leaves the outputs bit-identical', async (name) => {
    const base = build(name, f32);
    const tuned = build(name, f32, LORA);
    const added = tuned.params.filter((p) => !base.params.some((q) => q.name === p.name));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((p) => /\.(wq|wv|cross_wq|w_down)\.lora_[ab]$/.test(p.name))).toBe(true);
    // Every pre-trained weight draws as without LoRA (the factors have their own stream).
    for (const p of base.params) expect(await f32.read(tuned.params.find((q) => q.name === p.name)!.value)).toEqual(await f32.read(p.value));
    const batch = batchFor(name);
    expect(await logitsOf(f32, tuned, batch)).toEqual(await logitsOf(f32, base, batch));
  });

  it.each(families)('%s: adapters start near the identity (every block, after attention and the FFN)', async (name) => {
    const base = build(name, f32);
    const tuned = build(name, f32, ADAPTERS);
    const adapters = new Set(tuned.params.filter((p) => p.name.includes('_adapter.')).map((p) => p.name.replace(/\.[a-z_]+$/, '')));
    const blocks = name === 'encoder-decoder' ? 4 : 2;
    expect(adapters.size).toBe(2 * blocks + (name === 'encoder-decoder' ? 2 : 0)); // + cross-attention in decoder blocks
    const batch = batchFor(name);
    const [a, b] = [await logitsOf(f32, base, batch), await logitsOf(f32, tuned, batch)];
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    }
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(1e-3 * maxAbs);
  });

  it.each(families)('%s: gradients of LoRA factors and adapters match finite differences (float64)', (name) => {
    const model = build(name, f64, { ...LORA, ...ADAPTERS });
    // B = 0 makes A's gradient zero; start from a random B so both factors are checked.
    const rng = new Rng(9);
    for (const p of model.params.filter((p) => p.name.endsWith('.lora_b'))) f64.floatView(p.value).forEach((_, i, v) => (v[i] = rng.normal() * 0.3));
    const samples = sampleModelGradients(f64, model, batchFor(name), { samplesPerParameter: 2, seed: 8 });
    const added = samples.filter((s) => /lora_|_adapter\./.test(s.where));
    expect(added.length).toBeGreaterThan(8);
    for (const { where, analytic, numeric } of samples) expect(Math.abs(analytic - numeric), where).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
  });

  it('a tape that trains only the LoRA factors leaves every pre-trained gradient untouched', () => {
    const model = build('decoder', f64, LORA);
    const trainable = new Set(model.params.filter((p) => p.name.includes('.lora_')));
    const batch = batchFor('decoder');
    const tape = new Tape(f64, true, false, trainable);
    const inputs = uploadBatch(tape, batch);
    tape.backward(ops.crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask));
    tape.release();
    for (const p of model.params) {
      const grad = f64.readFloat(p.grad);
      const nonZero = grad.some((g) => g !== 0);
      // At B = 0 only B's gradient is non-zero: dA = s·xᵀ(dy·Bᵀ) = 0.
      expect(nonZero, p.name).toBe(p.name.endsWith('.lora_b'));
    }
  });

  it.each(['decoder', 'encoder-decoder'])('%s: key/value-cached decoding with trained LoRA factors and adapters gives the full forward\'s logits', async (name) => {
    const model = build(name, f32, { ...LORA, ...ADAPTERS });
    const rng = new Rng(4);
    for (const p of model.params.filter((p) => /lora_b$|_adapter\.up$/.test(p.name)))
      await f32.write(p.value, Float32Array.from({ length: p.value.size }, () => rng.normal() * 0.3));
    const tokens = [3, 7, 1, 9, 4, 2];
    const encoder = [5, 6, 8];
    const t = tokens.length;
    const batch: Batch = {
      batchSize: 1,
      seqLen: t,
      tokens: Int32Array.from(tokens),
      targets: new Int32Array(t),
      lossMask: new Float32Array(t),
      segmentIds: new Int32Array(t),
      prefixEnd: new Int32Array(t),
      positions: Int32Array.from(tokens.keys()),
    };
    if (name === 'encoder-decoder')
      batch.encoder = { tokens: Int32Array.from(encoder), encoderLen: 3, segmentIds: new Int32Array(3), prefixEnd: new Int32Array(3).fill(3), positions: Int32Array.from([0, 1, 2]) };
    const full = await logitsOf(f32, model, batch);
    const session = model.startDecoding!({ capacity: 8, encoder: name === 'encoder-decoder' ? { tokens: Int32Array.from(encoder), positions: Int32Array.from([0, 1, 2]) } : undefined })!;
    const cached: number[] = [];
    for (let i = 0; i < t; i++) {
      const tape = new Tape(f32, false);
      const step = { tokens: Int32Array.from([tokens[i]]), positions: Int32Array.from([i]), prefixEnd: new Int32Array(1) };
      cached.push(...(await f32.read(session.append(tape, step).value)));
      tape.release();
    }
    session.dispose();
    expect(Float32Array.from(cached)).toEqual(full);
  });

  it('the Trainer differentiates and updates only its optimizer\'s parameters (LoRA for an LM loss, as SFT with LoRA would)', async () => {
    const model = build('decoder', f32, LORA);
    const lora = model.params.filter((p) => p.name.includes('.lora_'));
    const optimizer = new AdamW(f32, lora, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 });
    expect(optimizer.m).toHaveLength(lora.length);
    const batch = batchFor('decoder');
    const schedule = { kind: 'constant' as const, maxLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 3, decayFraction: 0 };
    const trainer = new Trainer(f32, model, optimizer, { next: () => batch, state: () => null, restore: () => {} }, schedule);
    const before = new Map(await Promise.all(model.params.map(async (p) => [p.name, Float32Array.from(await f32.read(p.value))] as const)));
    const losses = [];
    for (let i = 0; i < 3; i++) losses.push((await trainer.trainStep()).loss);
    expect(losses[2]).toBeLessThan(losses[0]);
    for (const p of model.params) {
      const same = (await f32.read(p.value)).every((v, i) => v === before.get(p.name)![i]);
      expect(same, p.name).toBe(!p.name.includes('.lora_'));
      if (!p.name.includes('.lora_')) expect((await f32.read(p.grad)).every((g) => g === 0), p.name).toBe(true);
    }
  });
});

// What each architecture declares LoRA may adapt (tunableProjections) is what its blocks build: every declared name is
// a projection [in, out] of every block that has that role, and no other weight takes factors.
describe('the tunable projections each architecture declares', () => {
  it.each(architecturePlugins.flatMap((p) => ['swiglu', 'gelu'].map((activation) => [p.name, activation])))('%s (%s): every declared projection, and nothing else, takes LoRA factors', (name, activation) => {
    const plugin = architecture(name);
    const config = plugin.configSchema.parse(rawConfig(name, 2, { dModel: 8, heads: 2, ffnHidden: 12, activation }), 'model');
    const declared = plugin.tunableProjections!(config);
    expect(new Set(declared.map((p) => p.role)).size).toBe(declared.length);
    const base = plugin.create(config, { backend: f32, vocabSize: 11, rng: new Rng(5) });
    const tuned = plugin.create(config, { backend: f32, vocabSize: 11, rng: new Rng(5), tuning: { lora: { rank: 2, alpha: 4, targets: declared.map((p) => p.name) }, seed: 3 } });
    const adapted = new Set(tuned.params.filter((p) => p.name.endsWith('.lora_a')).map((p) => p.name.slice(0, -'.lora_a'.length)));
    const matrices = base.params.filter((p) => declared.some((d) => p.name.endsWith(`.${d.name}`)));
    expect([...adapted].sort()).toEqual(matrices.map((p) => p.name).sort());
    const blocks = name === 'encoder-decoder' ? 4 : 2;
    for (const d of declared) expect(matrices.filter((p) => p.name.endsWith(`.${d.name}`)).length, d.name).toBe(d.role.startsWith('cross-') ? 2 : blocks);
    expect(declared.some((p) => p.role === 'ffn-gate')).toBe(activation === 'swiglu');
    expect(declared.some((p) => p.role === 'cross-query')).toBe(name === 'encoder-decoder');
  });
});
