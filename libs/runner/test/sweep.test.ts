import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '@unilab/core';
import {
  createDefaultRegistry,
  expandGrid,
  inProcessCellRunner,
  parseExperiment,
  readManifest,
  runSweep,
  type CellRecord,
} from '../src/index.ts';
import { sotuSubset, tempDir } from './fixtures.ts';

const registry = createDefaultRegistry();

/** A tiny grid on real text: two architectures × three objectives, one size, a few steps. */
function tinyExperiment(corpus: string, overrides: Record<string, unknown> = {}) {
  return parseExperiment({
    name: 'tiny',
    base: {
      backend: 'wasm',
      data: { corpus, heldOutFraction: 0.1 },
      model: { config: { layers: 2, heads: 2 } },
      train: { steps: 4, batchSize: 2, seqLen: 32, lr: 3e-3, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 2 },
    },
    architectures: ['decoder', 'encoder-decoder'],
    objectives: ['clm', 'span-corruption', 'unilm'],
    architectureConfig: { 'encoder-decoder': { layers: null, encoderLayers: 1, decoderLayers: 1 } },
    sizes: [{ name: 'tiny', parameters: 30_000 }],
    seeds: [7],
    ...overrides,
  });
}

describe('experiment files', () => {
  it('names the bad field and refuses what each cell sets itself', () => {
    expect(() => parseExperiment({ name: 'x', architectures: [], objectives: ['clm'], sizes: [{ name: 's', parameters: 1 }] })).toThrow(
      /experiment.architectures: .*at least 1/,
    );
    expect(() => parseExperiment({ name: 'x', architectures: ['decoder'], objectives: ['clm'], sizes: [{ name: 's', parameters: -1 }] })).toThrow(
      'experiment.sizes[0].parameters',
    );
    expect(() =>
      parseExperiment({ name: 'x', base: { objective: { name: 'clm' } }, architectures: ['decoder'], objectives: ['clm'], sizes: [{ name: 's', parameters: 1 }] }),
    ).toThrow('experiment.base.objective: each cell sets this');
    expect(() => parseExperiment({ name: 'x', architectures: ['decoder', 'decoder'], objectives: ['clm'], sizes: [{ name: 's', parameters: 1 }] })).toThrow(
      'appears twice',
    );
    expect(() => parseExperiment({ name: 'x', architectures: ['../etc'], objectives: ['clm'], sizes: [{ name: 's', parameters: 1 }] })).toThrow(
      'names directories',
    );
  });

  it('the committed experiments parse and expand', async () => {
    const { readFile } = await import('node:fs/promises');
    const grids = new Map<string, ReturnType<typeof expandGrid>>();
    for (const file of ['paradigms.json', 'ablations.json', 'ablations-glm.json']) {
      const path = join(import.meta.dirname, '../../../experiments', file);
      const grid = expandGrid(parseExperiment(JSON.parse(await readFile(path, 'utf8'))), registry);
      for (const c of grid.cells) expect(Math.abs(c.match.error), c.id).toBeLessThan(0.03);
      grids.set(file, grid);
    }
    // The default paradigm grid: 17 pairs × 3 seeds (UniLM's objective needs a mask-following stack; clm and glm
    // have no encoder-decoder form; prefix-lm × clm is decoder × clm); the ablations keep the width and let the FFN
    // absorb each change.
    expect(grids.get('paradigms.json')!.cells).toHaveLength(51);
    expect(grids.get('paradigms.json')!.skipped.map((s) => `${s.architecture} × ${s.objective}`)).toEqual([
      'decoder × unilm',
      'decoder × glm',
      'prefix-lm × clm',
      'prefix-lm × glm',
      'encoder-decoder × clm',
      'encoder-decoder × glm',
      'glm × prefixlm',
      'glm × span-corruption',
      'glm × sclm',
      'glm × unilm',
      'glm × ul2',
    ]);
    for (const c of grids.get('ablations.json')!.cells) expect((c.spec.model.config as { dModel: number }).dModel).toBe(64);
  });
});

describe('the grid', () => {
  it('holds exactly the pairs spec validation accepts, and says why the others are missing', () => {
    const grid = expandGrid(tinyExperiment('sotu'), registry);
    expect(grid.cells.map((c) => c.id)).toEqual([
      'tiny-decoder-clm-s7',
      'tiny-decoder-span-corruption-s7',
      'tiny-encoder-decoder-span-corruption-s7',
      'tiny-encoder-decoder-unilm-s7',
    ]);
    expect(grid.skipped.map((s) => `${s.architecture} × ${s.objective}`)).toEqual(['decoder × unilm', 'encoder-decoder × clm']);
    expect(grid.skipped[0].reason).toContain('objective "unilm" cannot train architecture "decoder"');
  });

  it('leaves out the pairs the experiment excludes, keeping its reason', () => {
    const experiment = tinyExperiment('sotu', { exclude: [{ architecture: 'decoder', objective: 'span-corruption', reason: 'not needed here' }] });
    const grid = expandGrid(experiment, registry);
    expect(grid.cells.map((c) => c.id)).not.toContain('tiny-decoder-span-corruption-s7');
    expect(grid.skipped).toContainEqual({ architecture: 'decoder', objective: 'span-corruption', variant: 'base', reason: 'excluded by the experiment: not needed here' });
    expect(() => tinyExperiment('sotu', { exclude: [{ architecture: 'glm', objective: 'clm', reason: 'x' }] })).toThrow('experiment.exclude[0].architecture');
  });

  it('matches parameters within 2% by solving the width, whatever the architecture', () => {
    const grid = expandGrid(tinyExperiment('sotu'), registry);
    for (const c of grid.cells) {
      expect(Math.abs(c.parameters / 30_000 - 1), c.id).toBeLessThan(0.02);
      expect(c.match.by).toBe('parameters');
    }
    // The span-corruption encoder-decoder reads 32 encoder and 8 decoder positions per row: less compute per step.
    const ed = grid.cells.find((c) => c.id === 'tiny-encoder-decoder-span-corruption-s7')!;
    const dec = grid.cells.find((c) => c.id === 'tiny-decoder-span-corruption-s7')!;
    expect(ed.flopsPerStep).toBeLessThan(dec.flopsPerStep);
  });

  it('match.solve "ffn" keeps the base width and solves only the FFN width (GELU vs SwiGLU at equal parameters)', () => {
    const experiment = tinyExperiment('sotu', {
      base: { ...tinyExperiment('sotu').base, model: { config: { layers: 2, heads: 2, dModel: 32 } } },
      architectures: ['decoder'],
      architectureConfig: {},
      objectives: ['clm'],
      variants: [{ name: 'swiglu', config: {} }, { name: 'gelu', config: { activation: 'gelu' } }],
      match: { by: 'parameters', solve: 'ffn' },
    });
    const [swiglu, gelu] = expandGrid(experiment, registry).cells;
    expect([swiglu.id, gelu.id]).toEqual(['tiny-decoder-clm-swiglu-s7', 'tiny-decoder-clm-gelu-s7']);
    for (const c of [swiglu, gelu]) {
      expect((c.spec.model.config as { dModel: number }).dModel).toBe(32);
      expect(Math.abs(c.parameters / 30_000 - 1)).toBeLessThan(0.02);
    }
    // Three FFN matrices against two: GELU's hidden width is about 3/2 of SwiGLU's at equal parameters.
    const ffn = (c: typeof swiglu) => (c.spec.model.config as { ffnHidden: number }).ffnHidden;
    expect(ffn(gelu) / ffn(swiglu)).toBeGreaterThan(1.3);
    expect(() =>
      parseExperiment({ name: 'x', base: { model: { config: {} } }, architectures: ['decoder'], objectives: ['clm'], sizes: [{ name: 's', parameters: 1 }], match: { solve: 'ffn' } }),
    ).toThrow('experiment.match.solve');
  });

  it('matches compute: every cell spends the reference cell’s FLOPs per step (within 3%)', () => {
    const experiment = tinyExperiment('sotu', { match: { by: 'compute', reference: { architecture: 'decoder', objective: 'clm' } } });
    const grid = expandGrid(experiment, registry);
    const reference = grid.cells.find((c) => c.id === 'tiny-decoder-clm-s7')!;
    expect(Math.abs(reference.parameters / 30_000 - 1)).toBeLessThan(0.02);
    for (const c of grid.cells) expect(Math.abs(c.flopsPerStep / reference.flopsPerStep - 1), c.id).toBeLessThan(0.03);
    // Cheaper rows buy a wider model: the 2-stack span-corruption model has more parameters than the decoder.
    const ed = grid.cells.find((c) => c.id === 'tiny-encoder-decoder-span-corruption-s7')!;
    expect(ed.parameters).toBeGreaterThan(reference.parameters * 1.2);
  });

  it('--scale multiplies the parameters and the steps, with the warm-up and the intervals', () => {
    const grid = expandGrid(tinyExperiment('sotu'), registry, { scale: 3 });
    for (const c of grid.cells) {
      expect(Math.abs(c.parameters / 90_000 - 1)).toBeLessThan(0.02);
      expect(c.spec.train).toMatchObject({ steps: 12, warmupSteps: 3, checkpointEvery: 6, evalEvery: 0 });
    }
    const small = expandGrid(tinyExperiment('sotu'), registry, { scale: 0.1 });
    for (const c of small.cells) expect(c.spec.train).toMatchObject({ steps: 1, warmupSteps: 1, checkpointEvery: 1 });
  });

  it('an invalid field in the experiment is its mistake, not a missing pair', () => {
    const experiment = tinyExperiment('sotu', { architectureConfig: { 'encoder-decoder': { encoderLayers: 1, decoderLayers: 1 } } });
    expect(() => expandGrid(experiment, registry)).toThrow(SpecError);
    expect(() => expandGrid(experiment, registry)).toThrow(/spec.model.config.layers: unknown field.*\(in cell encoder-decoder × span-corruption\)/);
  });
});

describe('runSweep in this process', () => {
  it('trains every cell, records FLOPs and checkpoints, evaluates each once, and a rerun retrains nothing', async () => {
    const corpus = await sotuSubset(2);
    const dir = await tempDir('unilab-sweep-');
    const evaluated: string[] = [];
    const evaluate = async (cell: CellRecord, checkpoint: string) => {
      expect(existsSync(checkpoint)).toBe(true);
      evaluated.push(cell.id);
      return { checkpointStep: Number(/step-(\d+)/.exec(checkpoint)![1]) };
    };
    const experiment = tinyExperiment(corpus);
    const first = await runSweep({ experiment, registry, dir, runner: inProcessCellRunner(registry), evaluate });
    expect(first.complete).toBe(true);
    for (const c of first.manifest.cells) {
      expect(c.status).toBe('done');
      expect(c.step).toBe(4);
      expect(c.flops).toBe(4 * c.flopsPerStep);
      expect(Number.isFinite(c.heldOutLoss)).toBe(true);
      expect(c.evaluation).toEqual({ checkpointStep: 4 });
    }
    expect(evaluated).toHaveLength(4);
    const saved = await readManifest(dir);
    expect(saved!.skipped).toHaveLength(2);

    const events: string[] = [];
    const again = await runSweep({ experiment, registry, dir, runner: inProcessCellRunner(registry), evaluate, onEvent: (e) => events.push(e.type) });
    expect(again.complete).toBe(true);
    expect(events).toEqual(['plan']);
    expect(evaluated).toHaveLength(4);
  });

  it('an interrupted sweep resumes cell by cell to the same losses as an uninterrupted one', async () => {
    const corpus = await sotuSubset(2);
    const experiment = tinyExperiment(corpus);
    const straight = await runSweep({ experiment, registry, dir: await tempDir('unilab-sweep-'), runner: inProcessCellRunner(registry) });

    const dir = await tempDir('unilab-sweep-');
    const controller = new AbortController();
    const stopped = await runSweep({
      experiment,
      registry,
      dir,
      runner: inProcessCellRunner(registry),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'cell-step' && e.index === 2 && e.progress.step === 2) controller.abort();
      },
    });
    expect(stopped.complete).toBe(false);
    expect(stopped.manifest.cells.map((c) => c.status)).toEqual(['done', 'done', 'running', 'pending']);
    expect(stopped.manifest.cells[2].step).toBe(2);

    const starts: boolean[] = [];
    const resumed = await runSweep({
      experiment,
      registry,
      dir,
      runner: inProcessCellRunner(registry),
      onEvent: (e) => e.type === 'cell-start' && starts.push(e.resumed),
    });
    expect(resumed.complete).toBe(true);
    expect(starts).toEqual([true, false]);
    expect(resumed.manifest.cells.map((c) => c.heldOutLoss)).toEqual(straight.manifest.cells.map((c) => c.heldOutLoss));
  });

  it('parallel: N cells in flight at once (as the queue of a server takes them), each recorded in the one manifest', async () => {
    const dir = await tempDir('unilab-sweep-');
    let inFlight = 0;
    let most = 0;
    // A runner standing in for a server's queue: each cell is busy for a while, then trained.
    const runner = {
      async run(cell: CellRecord, { onJob }: { onJob?(id: string): void }) {
        inFlight++;
        most = Math.max(most, inFlight);
        await onJob?.(`job-${cell.id}`);
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
        return { status: 'trained' as const, step: cell.spec.train.steps, heldOutLoss: 1, flops: 1, checkpoint: null, jobId: `job-${cell.id}` };
      },
    };
    const result = await runSweep({ experiment: tinyExperiment('sotu'), registry, dir, runner, parallel: 3 });
    expect(result.complete).toBe(true);
    expect(most).toBe(3);
    const saved = await readManifest(dir);
    expect(saved!.cells.map((c) => [c.status, c.jobId])).toEqual(result.manifest.cells.map((c) => ['done', `job-${c.id}`]));
    // One at a time unless asked.
    most = 0;
    await runSweep({ experiment: tinyExperiment('sotu'), registry, dir: await tempDir('unilab-sweep-'), runner });
    expect(most).toBe(1);
  });

  it('refuses a directory that holds another sweep', async () => {
    const corpus = await sotuSubset(2);
    const dir = await tempDir('unilab-sweep-');
    const one = tinyExperiment(corpus, { architectures: ['decoder'], objectives: ['clm'], architectureConfig: {} });
    await runSweep({ experiment: one, registry, dir, runner: inProcessCellRunner(registry) });
    const other = tinyExperiment(corpus, { architectures: ['decoder'], objectives: ['clm'], architectureConfig: {}, seeds: [8] });
    await expect(runSweep({ experiment: other, registry, dir, runner: inProcessCellRunner(registry) })).rejects.toThrow(/belongs to another sweep/);
    await writeFile(join(dir, 'sweep.json'), '{ broken');
    await expect(runSweep({ experiment: one, registry, dir, runner: inProcessCellRunner(registry) })).rejects.toThrow(/sweep.json is not valid JSON/);
  });
});
