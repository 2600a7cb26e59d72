import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tape, decodeCheckpoint, uploadBatch } from '@unilab/core';
import { readSotu } from '@unilab/data';
import { createDefaultRegistry, parseTrainingSpec, runTraining } from '@unilab/runner';
import {
  DEFAULT_FINETUNE_OPTIONS,
  brownGenreTask,
  classificationBatch,
  classify,
  encodeForClassification,
  finetune,
  formatFinetuneTable,
  inputReading,
  loadFinetuned,
  loadPretrained,
  parseMethods,
  saveFinetuned,
  spamHamTask,
  type FinetuneOptions,
  type LabelledTask,
  type Pretrained,
} from '../src/index.ts';

// Fine-tuning a pre-trained checkpoint on a labelled task: full, LoRA (Hu et al. 2021) and Houlsby adapters.
// The base models are pre-trained here for a few steps on real text (State of the Union), the task is Brown genre.
const registry = createDefaultRegistry();

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'unilab-finetune-'));
}

async function pretrain(architecture: string, objective: string, config: Record<string, unknown>, steps: number): Promise<string> {
  const corpus = join(await tempDir(), 'sotu');
  await mkdir(corpus);
  const docs = (await readSotu()).slice(0, 6);
  await Promise.all(docs.map((d, i) => writeFile(join(corpus, `${i}.txt`), d.text)));
  const spec = parseTrainingSpec({
    name: 'ft-test',
    seed: 3,
    backend: 'wasm',
    data: { corpus, heldOutFraction: 0.1 },
    model: { architecture, config },
    objective: { name: objective },
    train: { steps, batchSize: 8, seqLen: 64, lr: 3e-3, warmupSteps: Math.min(5, steps), evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
    samplePrompts: [],
  });
  const result = await runTraining({ spec, outDir: await tempDir(), registry });
  return result.checkpoint!;
}

const quick: FinetuneOptions = { ...DEFAULT_FINETUNE_OPTIONS, epochs: 1, batchSize: 8, loraRank: 4, adapterSize: 8 };

async function values(p: Pretrained, names?: Set<string>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const q of p.model.params) if (!names || names.has(q.name)) out.set(q.name, Float32Array.from(await p.backend.read(q.value)));
  return out;
}

async function hiddenOf(p: Pretrained, texts: string[]): Promise<Float32Array> {
  const reading = inputReading(p.reads);
  const batch = classificationBatch(reading, 'mean', encodeForClassification(p.tokenizer, texts, 64), texts.map(() => 0), p.tokenizer.specialTokens.pad);
  const tape = new Tape(p.backend, false);
  try {
    return Float32Array.from(await p.backend.read(p.model.hiddenStates!.read(tape, uploadBatch(tape, batch.batch)).value));
  } finally {
    tape.release();
  }
}

let decoderCheckpoint: string;
let encoderDecoderCheckpoint: string;
let task: LabelledTask;

beforeAll(async () => {
  // 100 steps: after 30 the states have collapsed onto the unigram prediction and PEFT has nothing to read.
  decoderCheckpoint = await pretrain('decoder', 'clm', { layers: 2, dModel: 32, heads: 2 }, 100);
  encoderDecoderCheckpoint = await pretrain('encoder-decoder', 'span-corruption', { encoderLayers: 1, decoderLayers: 1, dModel: 32, heads: 2 }, 10);
  task = await brownGenreTask({ seed: 2, trainPerLabel: 60, testPerLabel: 40 });
}, 300_000); // two short pre-training runs: past vitest's 10 s hook default when other test files share the CPU

describe('the pre-trained network with LoRA or adapters added', () => {
  it.each([['decoder'], ['encoder-decoder']])('%s: LoRA at initialisation (B = 0) gives the base model\'s hidden states bit for bit; adapters nearly', async (arch) => {
    const path = arch === 'decoder' ? decoderCheckpoint : encoderDecoderCheckpoint;
    const texts = task.test.slice(0, 4).map((e) => e.text);
    const base = await hiddenOf(await loadPretrained(path, registry), texts);
    const lora = await loadPretrained(path, registry, { tuning: { lora: { rank: 4, alpha: 8, targets: ['wq', 'wk', 'wv', 'wo', 'w_up', 'w_down'] }, seed: 1 } });
    expect(lora.added.length).toBeGreaterThan(0);
    expect(await hiddenOf(lora, texts)).toEqual(base);
    const adapted = await hiddenOf(await loadPretrained(path, registry, { tuning: { adapters: { size: 8 }, seed: 1 } }), texts);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < base.length; i++) {
      diff = Math.max(diff, Math.abs(adapted[i] - base[i]));
      scale = Math.max(scale, Math.abs(base[i]));
    }
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.01 * scale);
  });

  it('refuses a LoRA target that names no projection, listing the ones there are', async () => {
    await expect(loadPretrained(decoderCheckpoint, registry, { tuning: { lora: { rank: 2, alpha: 2, targets: ['wq', 'w_qkv'] }, seed: 1 } })).rejects.toThrow(
      'loraTargets[1]: LoRA target "w_qkv" is no projection of architecture "decoder"; it declares query (wq), key (wk), value (wv), output (wo), ',
    );
  });

  it('LoRA targets by role and by the built-in names adapt the same projections', async () => {
    const built = async (targets: string[]) => (await loadPretrained(decoderCheckpoint, registry, { tuning: { lora: { rank: 2, alpha: 2, targets }, seed: 1 } })).added.map((p) => p.name);
    const byRole = await built(['query', 'value', 'ffn-down']);
    expect(byRole).toEqual(await built(['wq', 'wv', 'w_down']));
    expect(byRole.filter((n) => n.startsWith('layers.0.'))).toEqual(['layers.0.wq.lora_a', 'layers.0.wq.lora_b', 'layers.0.wv.lora_a', 'layers.0.wv.lora_b', 'layers.0.w_down.lora_a', 'layers.0.w_down.lora_b']);
  });
});

describe('fine-tuning trains only what its method names', () => {
  it.each([
    ['lora', /\.lora_[ab]$/],
    ['adapter', /(_adapter\.(down|up)(_bias)?|_norm|^norm)$/],
  ] as const)('%s: the optimizer holds only the method\'s tensors and the head; every frozen weight is bitwise unchanged', async (method, pattern) => {
    const tiny = { ...task, train: task.train.slice(0, 16) };
    const { classifier, result } = await finetune(decoderCheckpoint, registry, tiny, method, quick);
    const trainedNames = classifier.trained.map((p) => p.name);
    expect(trainedNames.filter((n) => !n.startsWith('head.')).every((n) => pattern.test(n))).toBe(true);
    expect(trainedNames).toContain('head.weight');
    expect(result.trainableParams).toBeLessThan(0.2 * result.totalParams);
    const before = await values(await loadPretrained(decoderCheckpoint, registry));
    const after = await values(classifier.pretrained, new Set(before.keys()));
    const trained = new Set(trainedNames);
    let changed = 0;
    for (const [name, value] of before) {
      if (trained.has(name)) changed += value.some((v, i) => v !== after.get(name)![i]) ? 1 : 0;
      else expect(after.get(name), name).toEqual(value);
    }
    if (method === 'adapter') expect(changed).toBeGreaterThan(0); // the norms train with adapters
    // The added modules moved away from their initialisation (LoRA's B from zero).
    for (const p of classifier.pretrained.added.filter((p) => /lora_b$|_adapter\.up$/.test(p.name)))
      expect((await classifier.pretrained.backend.read(p.value)).some((v) => v !== 0), p.name).toBe(true);
    // Frozen parameters never received a gradient.
    for (const p of classifier.pretrained.model.params)
      if (!trained.has(p.name)) expect((await classifier.pretrained.backend.read(p.grad)).every((v) => v === 0), p.name).toBe(true);
  });

  it('full fine-tuning changes the pre-trained weights', async () => {
    const tiny = { ...task, train: task.train.slice(0, 16) };
    const { classifier, result } = await finetune(decoderCheckpoint, registry, tiny, 'full', quick);
    expect(result.trainableParams).toBe(result.totalParams);
    const before = await values(await loadPretrained(decoderCheckpoint, registry));
    const after = await values(classifier.pretrained);
    expect(after.get('layers.0.wq')).not.toEqual(before.get('layers.0.wq'));
  });
});

describe('fine-tuning on a real task', () => {
  it.each([
    ['full', 3e-3, 4],
    ['lora', 1e-2, 4],
    ['adapter', 3e-2, 8],
  ] as const)('%s fine-tuning of a pre-trained decoder beats chance on spam vs ham (its 95-percent interval lies above chance)', async (method, lr, epochs) => {
    const spam = await spamHamTask({ seed: 2, trainPerLabel: 60, testPerLabel: 60 });
    const { result } = await finetune(decoderCheckpoint, registry, spam, method, { ...quick, epochs, lr: { ...quick.lr, [method]: lr } });
    expect(result.n).toBe(120);
    expect(result.ci95.low).toBeGreaterThan(result.chance);
    const table = formatFinetuneTable([result]);
    expect(table.split('\n')[2]).toMatch(new RegExp(`^\\| ${method} \\| [\\d,]+ \\(\\d+\\.\\d\\d%\\) \\| \\d+\\.\\d% \\[\\d+\\.\\d%, \\d+\\.\\d%\\] \\| 120 \\| 50\\.0% \\| \\d+\\.\\d s \\| ${15 * epochs} \\|$`));
  });

  it('an encoder-decoder fine-tunes through its encoder and decoder start state', async () => {
    const small = { ...task, train: task.train.slice(0, 16), test: task.test.slice(0, 8) };
    const { result } = await finetune(encoderDecoderCheckpoint, registry, small, 'adapter', quick);
    expect(result.steps).toBe(2);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
  });

  it('a saved fine-tuned classifier holds only the trained tensors and classifies as before; a changed base is refused', async () => {
    const dir = await tempDir();
    const base = join(dir, 'base.safetensors');
    await writeFile(base, await readFile(decoderCheckpoint));
    const small = { ...task, train: task.train.slice(0, 16), test: task.test.slice(0, 12) };
    const { classifier } = await finetune(base, registry, small, 'lora', quick);
    const path = join(dir, 'tuned', 'lora.safetensors');
    await mkdir(join(dir, 'tuned'));
    await saveFinetuned(path, classifier, 2);
    const stored = [...decodeCheckpoint(new Uint8Array(await readFile(path))).tensors.keys()];
    expect(stored.sort()).toEqual(classifier.trained.map((p) => `param/${p.name}`).sort());
    const loaded = await loadFinetuned(path, registry);
    expect(await classify(loaded, small.test)).toEqual(await classify(classifier, small.test));
    const bytes = await readFile(base);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(base, bytes);
    await expect(loadFinetuned(path, registry)).rejects.toThrow(/with CRC-32 \d+, but that file now has \d+: the base changed$/);
  });
});

describe('reporting', () => {
  it('--method takes full, lora, adapter, a comma list or all, and names the choices otherwise', () => {
    expect(parseMethods('all')).toEqual(['full', 'lora', 'adapter']);
    expect(parseMethods('lora,adapter')).toEqual(['lora', 'adapter']);
    expect(() => parseMethods('prefix-tuning')).toThrow('--method: unknown method "prefix-tuning"; use one of full, lora, adapter or all');
  });
});
