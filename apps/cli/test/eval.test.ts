import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvalReport } from '@unilab/eval';
import { cli } from './run-cli.ts';

// `unilab eval` on models trained inside the test (a few dozen steps on State of the Union): the quick suite measures
// bits per byte per held-out domain and mode-wise NLL, and runs every few-shot task at k = 0, 1 and 5; it prints
// each figure with n, its 95% interval and the chance level, and writes the same figures as JSON. A tiny model is
// near chance; what is checked is that every number is a real, consistent measurement (the intervals contain their
// estimates, the per-item outcomes add up to the accuracies, the table shows what the JSON holds).
async function trainTiny(architecture: string, objective: string, config: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'unilab-eval-cli-'));
  const spec = {
    name: `eval-${objective}-${architecture}`,
    backend: 'wasm',
    data: { corpus: 'sotu' },
    model: { architecture, config },
    objective: { name: objective, config: {} },
    train: { steps: 30, batchSize: 8, seqLen: 64, lr: 5e-3, minLr: 5e-4, warmupSteps: 5, evalEvery: 0, evalBatches: 2, checkpointEvery: 0 },
    samplePrompts: [],
  };
  await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
  const r = await cli('train', join(dir, 'spec.json'), '--out', join(dir, 'run'));
  expect(r.code).toBe(0);
  return dir;
}

/** Reports written by the tests below, compared by the last one. */
const written: Record<string, string> = {};

const TASKS = ['brown-genre', 'sotu-party', 'spam-ham', 'last-word-cloze'];
const CHANCE: Record<string, number> = { 'brown-genre': 0.25, 'sotu-party': 0.5, 'spam-ham': 0.5, 'last-word-cloze': 0.25 };

function checkReport(report: EvalReport, out: string) {
  expect(report.format).toBe('unilab-eval/1');
  expect(report.skipped).toEqual({});
  // Likelihood: bits per byte on held-out SOTU, each Brown genre and three UDHR languages; UL2's three modes.
  const likelihood = report.likelihood!;
  expect(likelihood.bitsPerByte.domains.map((d) => d.domain)).toEqual(expect.arrayContaining(['sotu', 'brown/news', 'brown/romance', 'udhr/eng', 'udhr/fra', 'udhr/fin']));
  expect(likelihood.bitsPerByte.domains).toHaveLength(1 + 15 + 3);
  for (const d of likelihood.bitsPerByte.domains) {
    expect(d.bitsPerByte.low).toBeLessThanOrEqual(d.bitsPerByte.value);
    expect(d.bitsPerByte.high).toBeGreaterThanOrEqual(d.bitsPerByte.value);
    expect(out).toMatch(new RegExp(`\\n +${d.domain} +${d.bitsPerByte.value.toFixed(3)} +\\[[\\d.]+, [\\d.]+\\] +${d.uniformBitsPerByte.toFixed(3)} +${d.documents} +${d.bytes}\\n`));
  }
  expect(likelihood.modes.results.map((m) => m.mode)).toEqual(['lm', 'infilling', 'seq2seq']);
  for (const m of likelihood.modes.results) expect(out).toMatch(new RegExp(`\\n +${m.mode} +${m.natsPerToken.value.toFixed(3)} +\\[`));
  const fewShot = report.fewShot!;
  expect(fewShot.skippedTasks).toEqual([]);
  expect(fewShot.results.map((r) => `${r.task}/${r.shots}`)).toEqual(TASKS.flatMap((t) => [0, 1, 5].map((k) => `${t}/${k}`)));
  for (const r of fewShot.results) {
    expect(r.chance).toBe(CHANCE[r.task]);
    expect(r.n).toBeGreaterThanOrEqual(24);
    for (const [p, correct] of [[r.acc, r.correct], [r.accNorm, r.correctNorm]] as const) {
      expect(correct).toHaveLength(r.n);
      expect(p.successes).toBe(correct.reduce((s, c) => s + c, 0));
      expect(p.ci95[0]).toBeLessThanOrEqual(p.value);
      expect(p.ci95[1]).toBeGreaterThanOrEqual(p.value);
    }
    // The printed row: task, k, n, acc, its interval, acc_norm, its interval, chance, prompts cut.
    const row = `${r.task} +${r.shots} +${r.n} +${r.acc.value.toFixed(3)} +\\[${r.acc.ci95[0].toFixed(3)}, ${r.acc.ci95[1].toFixed(3)}\\] +${r.accNorm.value.toFixed(3)} +\\[${r.accNorm.ci95[0].toFixed(3)}, ${r.accNorm.ci95[1].toFixed(3)}\\] +${r.chance.toFixed(3)} +${r.truncated}`;
    expect(out).toMatch(new RegExp(row));
  }
  // With a 64-token context, zero-shot prompts of 50-100 byte passages are sometimes cut; 5-shot prompts always are.
  expect(fewShot.results.filter((r) => r.shots === 5).every((r) => r.truncated === r.n)).toBe(true);
}

describe('unilab eval', () => {
  it('a causal decoder: the quick suite on its run directory, as a table and as JSON', async () => {
    const dir = await trainTiny('decoder', 'clm', { layers: 2, dModel: 32, heads: 2 });
    const json = join(dir, 'eval.json');
    const r = await cli('eval', join(dir, 'run'), '--suite', 'quick', '--json', json);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as EvalReport;
    expect(report.checkpoint).toMatch(/run\/checkpoints\/step-00000030\.safetensors$/);
    expect(report.model).toMatchObject({ architecture: 'decoder', objective: 'clm', seqLen: 64 });
    expect(report.fewShot!.reading).toBe('seq2seq: causal: input target, left to right (clm)');
    checkReport(report, r.out);
    written.decoder = json;
    console.info(r.out);
  });

  it('a span-corruption encoder-decoder reads each prompt through its encoder', async () => {
    const dir = await trainTiny('encoder-decoder', 'span-corruption', { encoderLayers: 1, decoderLayers: 1, dModel: 32, heads: 2 });
    const json = join(dir, 'eval.json');
    const r = await cli('eval', join(dir, 'run', 'checkpoints', 'step-00000030.safetensors'), '--suite', 'quick', '--json', json);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as EvalReport;
    expect(report.model).toMatchObject({ architecture: 'encoder-decoder', objective: 'span-corruption' });
    expect(report.fewShot!.reading).toMatch(/^(seq2seq|lm): /);
    checkReport(report, r.out);
    written.encoderDecoder = json;
    console.info(r.out);
  });

  it('a masked LM, which continues no text, gets its sections skipped with the reason rather than a failure', async () => {
    const dir = await trainTiny('encoder', 'bert-mlm', { layers: 1, dModel: 32, heads: 2 });
    const json = join(dir, 'eval.json');
    const r = await cli('eval', join(dir, 'run'), '--suite', 'quick', '--json', json);
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as EvalReport;
    expect(report.likelihood).toBeNull();
    expect(report.fewShot).toBeNull();
    const reason = 'no objective this model trained declares how it continues text (bert-mlm on encoder)';
    expect(report.skipped).toEqual({ likelihood: reason, fewShot: reason });
    expect(r.out).toContain(`few-shot in-context learning: skipped, ${reason}`);
  });

  it('--compare says, figure by figure, whether two reports of one suite differ', async () => {
    const r = await cli('eval', '--compare', written.decoder, written.encoderDecoder);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const a = JSON.parse(await readFile(written.decoder, 'utf8')) as EvalReport;
    const sotu = a.likelihood!.bitsPerByte.domains.find((d) => d.domain === 'sotu')!;
    expect(r.out).toMatch(new RegExp(`\\nbits per byte sotu +${sotu.bitsPerByte.value.toFixed(3)} +\\d+\\.\\d{3} +(yes|no) +95% intervals\\n`));
    expect(r.out).toMatch(/\nspam-ham k=5 acc_norm +\d\.\d{3} +\d\.\d{3} +(yes|no) +McNemar p=[\d.e-]+/);
    expect((await cli('eval', '--compare', written.decoder)).err).toMatch(/--compare takes two reports/);
    expect((await cli('eval', '--compare', written.decoder, join(tmpdir(), 'missing.json'))).err).toMatch(/cannot read the report .*missing\.json/);
  });

  it('refuses what it cannot evaluate, naming it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'unilab-eval-empty-'));
    expect((await cli('eval', join(empty, 'nothing.safetensors'))).err).toMatch(/nothing\.safetensors does not exist: expected a checkpoint \(\.safetensors\) or a run directory/);
    expect((await cli('eval', empty)).err).toMatch(/holds no intact checkpoint/);
    expect((await cli('eval', empty, '--suite', 'full')).err).toMatch(/unknown suite "full": expected one of default, quick/);
    await writeFile(join(empty, 'bad.safetensors'), 'not a checkpoint');
    const bad = await cli('eval', join(empty, 'bad.safetensors'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.safetensors/);
    expect((await cli('eval')).err).toMatch(/usage: unilab eval/);
  });
});
