import { afterAll, describe, expect, it } from 'vitest';
import {
  Rng,
  Tape,
  createReferenceBackend,
  createWasmBackend,
  createWebGpuBackend,
  ops,
  uploadBatch,
  type Backend,
} from '@unilab/core';
import { ByteTokenizer, createDocumentStream, readSotu } from '@unilab/data';
import { decoder } from '@unilab/plugins-arch';
import { clm } from '@unilab/plugins-objective';
import { createDefaultRegistry, latestCheckpoint, runTraining } from '../src/index.ts';
import { acquireWebGpuDevice } from '../src/webgpu-device.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';
import { relativeError, webgpuOrSkip } from './webgpu-fixture.ts';

// Whole models on the WebGPU backend: a decoder's forward/backward against the reference, a tiny training run
// against the WASM backend's loss curve, and the bad cases (a tensor over the device's limit, a lost device).
const device = await webgpuOrSkip();

/** Odd sizes, grouped-query attention (head size 12), packed documents. */
const model = { layers: 2, dModel: 48, heads: 4, kvHeads: 2, ffnHidden: 67 };

async function lossAndGrads(backend: Backend) {
  const tokenizer = new ByteTokenizer();
  const docs = (await readSotu()).slice(10, 14).map((d) => tokenizer.encode(d.text));
  const context = { batchSize: 3, seqLen: 37, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
  const batch = clm.createBatcher({}, context, createDocumentStream(docs, 3), new Rng(3)).next();
  const net = decoder.create(decoder.configSchema.parse(model, 'model'), { backend, vocabSize: tokenizer.vocabSize, rng: new Rng(9) });
  const tape = new Tape(backend);
  const inputs = uploadBatch(tape, batch);
  const loss = ops.crossEntropy(tape, net.forward(tape, inputs), inputs.targets, inputs.lossMask);
  tape.backward(loss);
  const value = (await backend.read(loss.value))[0];
  const grads = await Promise.all(net.params.map((p) => backend.read(p.grad)));
  tape.release();
  return { value, grads, names: net.params.map((p) => p.name) };
}

describe.skipIf(!device)('training on the WebGPU backend', () => {
  const registry = createDefaultRegistry();
  afterAll(() => device?.release());

  it('a whole decoder forward and backward agrees with the reference backend', async () => {
    const ref = await lossAndGrads(createReferenceBackend());
    const gpu = await lossAndGrads(createWebGpuBackend(device!.device));
    expect(Math.abs(gpu.value - ref.value) / ref.value).toBeLessThan(1e-5);
    ref.grads.forEach((g, i) => expect(relativeError(gpu.grads[i], g), ref.names[i]).toBeLessThan(1e-4));
  });

  it('a tiny run follows the WASM backend’s loss curve, in two submissions per step', async () => {
    const corpus = await sotuSubset(6);
    const spec = tinySpec(corpus, { model, train: { steps: 16, batchSize: 4, seqLen: 32, warmupSteps: 2 } });
    const wasm = await runTraining({ spec, outDir: await tempDir(), registry, backend: await createWasmBackend() });
    const gpu = createWebGpuBackend(device!.device);
    const perStep: { submits: number; live: number }[] = [];
    const webgpu = await runTraining({
      spec,
      outDir: await tempDir(),
      registry,
      backend: gpu,
      onEvent: (e) => e.type === 'step' && perStep.push({ submits: gpu.counters.submits, live: gpu.memoryStats().liveTensors }),
    });
    const rows = wasm.losses.map((l, s) => `  ${String(s + 1).padStart(2)}  ${l.toFixed(6)}  ${webgpu.losses[s].toFixed(6)}  ${(Math.abs(webgpu.losses[s] - l) / l).toExponential(1)}`);
    console.log(`tiny run, loss per step (${device!.description}):\nstep   wasm      webgpu    rel. diff\n${rows.join('\n')}\nheld-out: wasm ${wasm.heldOutLoss.toFixed(6)}, webgpu ${webgpu.heldOutLoss.toFixed(6)}`);
    // Float32 sums in another order drift apart slowly through AdamW; the curves agree to 1e-4 (lavapipe: 1e-7).
    webgpu.losses.forEach((l, s) => expect(Math.abs(l - wasm.losses[s]) / wasm.losses[s], `step ${s + 1}`).toBeLessThan(1e-4));
    expect(Math.abs(webgpu.heldOutLoss - wasm.heldOutLoss) / wasm.heldOutLoss).toBeLessThan(1e-4);
    expect(webgpu.losses[15]).toBeLessThan(webgpu.losses[0] - 0.5);
    // One submission reads the loss back, one the gradient norm; nothing else leaves the GPU during a step.
    for (let s = 1; s < perStep.length; s++) expect(perStep[s].submits - perStep[s - 1].submits).toBeLessThanOrEqual(2);
    // Memory is flat: the same tensors are alive after every step.
    expect(new Set(perStep.map((p) => p.live)).size).toBe(1);
  });

  it('refuses a tensor over the device’s maxStorageBufferBindingSize before any step runs, naming the limit', async () => {
    const limit = createWebGpuBackend(device!.device).limits.maxStorageBufferBindingSize;
    // Logits [batch · 1024, 259 byte-level tokens] just over the limit; only checkable where that is a sane batch.
    const batchSize = Math.ceil(limit / (4 * 259 * 1024)) + 1;
    if (batchSize > 512) return console.warn(`[skipped] this device's limit (${limit} bytes) needs batch ${batchSize} to exceed`);
    const spec = tinySpec(await sotuSubset(6), { model, train: { steps: 2, batchSize, seqLen: 1024, checkpointEvery: 1 } });
    const outDir = await tempDir();
    const steps: number[] = [];
    const run = runTraining({ spec, outDir, registry, backend: createWebGpuBackend(device!.device), onEvent: (e) => e.type === 'step' && steps.push(e.step) });
    await expect(run).rejects.toThrow(new RegExp(`maxStorageBufferBindingSize of ${limit} bytes`));
    expect(steps).toEqual([]);
    expect(await latestCheckpoint(outDir)).toBeNull();
  });

  it('a device lost mid-training fails the run cleanly; its last checkpoint is intact and resumes on WASM', async () => {
    const own = await acquireWebGpuDevice();
    const spec = tinySpec(await sotuSubset(6), { model, train: { steps: 6, checkpointEvery: 2 } });
    const outDir = await tempDir();
    const run = runTraining({
      spec,
      outDir,
      registry,
      backend: createWebGpuBackend(own.device),
      onEvent: (e) => e.type === 'step' && e.step === 3 && own.release(),
    });
    await expect(run).rejects.toThrow(/WebGPU device .*lost/);
    const last = await latestCheckpoint(outDir);
    expect((last?.checkpoint.state as { step: number }).step).toBe(2);
    const resumed = await runTraining({ spec, outDir, registry, resume: true, backend: await createWasmBackend() });
    expect(resumed.step).toBe(6);
    expect(resumed.losses.every(Number.isFinite)).toBe(true);
  });
});
