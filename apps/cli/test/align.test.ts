import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';
import { comparisons, demonstrations, parseAlignmentJsonl } from '@unilab/eval';
import { cli } from './run-cli.ts';

describe('unilab align', () => {
  it('data writes demonstrations and preference pairs that parse back, with a manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    const run = await cli('align', 'data', '--out', dir, '--train', '8', '--held-out', '4', '--noise', '0.25', '--seed', '2');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('5 tasks (copy, reverse, nth-word, cloze, genre); 40 train, 20 held-out examples');
    const read = async (name: string) => parseAlignmentJsonl(await readFile(join(dir, name), 'utf8'), name);
    expect(demonstrations(await read('sft-train.jsonl'), 'sft').length).toBe(40);
    const heldOutPairs = comparisons(await read('pairs-held-out.jsonl'), 'pairs');
    expect(heldOutPairs.length).toBe(20);
    expect(heldOutPairs.every((p) => p.flipped === false)).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.noiseRate).toBe(0.25);
    expect(comparisons(await read('pairs-train.jsonl'), 'pairs').filter((p) => p.flipped).length).toBe(manifest.flippedTrainPairs);
  });

  it('names a missing --out, an unknown stage and a bad noise rate', async () => {
    expect((await cli('align', 'data')).err).toMatch(/^unilab align: --out DIR is required/);
    expect((await cli('align', 'rlhf')).err).toMatch(/^unilab align: unknown stage "rlhf"; the stages are: data, sft, rm, ppo, dpo/);
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    expect((await cli('align', 'data', '--out', dir, '--train', '2', '--held-out', '1', '--noise', '0.7')).err).toMatch(/noise rate must be in \[0, 0\.5\), got 0\.7/);
  });

  it('sft then dpo: a checkpoint pre-trained here is fine-tuned on the data, then preference-tuned, and still generates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    for (const [i, d] of (await readSotu()).slice(0, 3).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
    const spec = {
      name: 'align-cli',
      data: { corpus },
      model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
      train: { steps: 4, batchSize: 4, seqLen: 64, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      samplePrompts: [],
    };
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    expect((await cli('train', join(dir, 'spec.json'), '--out', join(dir, 'run'))).code).toBe(0);
    const base = join(dir, 'run', 'checkpoints', 'step-00000004.safetensors');
    const data = join(dir, 'data');
    expect((await cli('align', 'data', '--out', data, '--train', '4', '--held-out', '2')).code).toBe(0);
    const sftRun = await cli('align', 'sft', base, '--data', join(data, 'sft-train.jsonl'), '--held-out', join(data, 'sft-held-out.jsonl'), '--epochs', '1', '--out', join(dir, 'sft.safetensors'));
    expect(sftRun.err).toBe('');
    expect(sftRun.out).toMatch(/unilab align sft: 20 demonstrations, 2 steps; train loss \d+\.\d+ -> \d+\.\d+ nats\/response token/);
    expect(sftRun.out).toMatch(/held-out response NLL \(10\): \d+\.\d+ -> \d+\.\d+ nats\/token/);
    const dpoRun = await cli('align', 'dpo', join(dir, 'sft.safetensors'), '--data', join(data, 'pairs-train.jsonl'), '--held-out', join(data, 'pairs-held-out.jsonl'), '--beta', '0.2', '--out', join(dir, 'dpo.safetensors'));
    expect(dpoRun.err).toBe('');
    expect(dpoRun.out).toContain('unilab align dpo: 20 comparisons, beta 0.2, 3 steps');
    // Before the first update the policy is the reference: every held-out comparison a tie.
    expect(dpoRun.out).toMatch(/held-out \(10\): loss 0\.6931, preference accuracy 0\.500, reward margin 0\.0000 -> /);
    const gen = await cli('generate', join(dir, 'dpo.safetensors'), '--prompt', 'Reverse: stone', '--max-tokens', '4');
    expect(gen.code).toBe(0);
  });

  it('sft with LoRA, rm, then ppo: a resumed run continues from its state file, the KL budget stops a run visibly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    for (const [i, d] of (await readSotu()).slice(0, 3).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
    const spec = {
      name: 'align-ppo-cli',
      data: { corpus },
      model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
      train: { steps: 4, batchSize: 4, seqLen: 64, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      samplePrompts: [],
    };
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    expect((await cli('train', join(dir, 'spec.json'), '--out', join(dir, 'run'))).code).toBe(0);
    const base = join(dir, 'run', 'checkpoints', 'step-00000004.safetensors');
    const data = join(dir, 'data');
    expect((await cli('align', 'data', '--out', data, '--train', '4', '--held-out', '2')).code).toBe(0);
    const sftPath = join(dir, 'sft.safetensors');
    const sftRun = await cli('align', 'sft', base, '--data', join(data, 'sft-train.jsonl'), '--epochs', '1', '--lora', '4', '--out', sftPath);
    expect(sftRun.err).toBe('');
    // The default targets are roles (query, value), which the decoder declares as wq and wv.
    expect(sftRun.out).toMatch(/training [\d,]+ of [\d,]+ parameters \(lora rank 4 on wq, wv\)/);
    const refused = await cli('align', 'sft', base, '--data', join(data, 'sft-train.jsonl'), '--lora', '4', '--lora-targets', 'query,qkv', '--out', join(dir, 'refused.safetensors'));
    expect(refused.err).toMatch(/^unilab align: --lora-targets\[1\]: LoRA target "qkv" is no projection of architecture "decoder"; it declares query \(wq\), key \(wk\), value \(wv\)/);
    // The LoRA factors travel in the checkpoint and are rebuilt by every loader: generation reads them.
    expect((await cli('generate', sftPath, '--prompt', 'Copy: we the', '--max-tokens', '3')).code).toBe(0);
    const rmPath = join(dir, 'rm.safetensors');
    const rmRun = await cli('align', 'rm', sftPath, '--data', join(data, 'pairs-train.jsonl'), '--held-out', join(data, 'pairs-held-out.jsonl'), '--out', rmPath);
    expect(rmRun.err).toBe('');
    expect(rmRun.out).toMatch(/unilab align rm: 20 comparisons, 6 steps; Bradley-Terry loss \d+\.\d+ -> \d+\.\d+/);
    expect(rmRun.out).toMatch(/held-out pairwise accuracy \(10\): \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] -> \d\.\d{3} \[/);
    const ppoArgs = (out: string, ...more: string[]) =>
      ['align', 'ppo', sftPath, '--reward-model', rmPath, '--prompts', join(data, 'sft-train.jsonl'), '--out', out, '--rollouts', '4', '--minibatch', '2', '--max-tokens', '4', '--lr', '1e-3', ...more];
    const straight = await cli(...ppoArgs(join(dir, 'ppo-a.safetensors'), '--iterations', '3', '--log', join(dir, 'a.jsonl')));
    expect(straight.err).toBe('');
    expect(straight.out).toMatch(/iteration 1: reward -?\d+\.\d+, verifier \d\.\d{3}, KL -?\d\.\d{3}, beta 0\.1000, entropy \d+\.\d{3}, clip fraction/);
    expect(straight.out).toMatch(/unilab align ppo: 3 iterations of 4 rollouts, reward reward-model; final KL to the SFT model/);
    const state = join(dir, 'state.safetensors');
    expect((await cli(...ppoArgs(join(dir, 'ppo-b.safetensors'), '--iterations', '1', '--state', state, '--log', join(dir, 'b.jsonl')))).code).toBe(0);
    const resumed = await cli(...ppoArgs(join(dir, 'ppo-b.safetensors'), '--iterations', '3', '--state', state, '--resume', '--log', join(dir, 'b.jsonl')));
    expect(resumed.err).toBe('');
    expect(resumed.out).toContain(`resumed from ${state} after iteration 1`);
    expect(await readFile(join(dir, 'b.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'a.jsonl'), 'utf8'));
    expect((await readFile(join(dir, 'ppo-b.safetensors'))).equals(await readFile(join(dir, 'ppo-a.safetensors')))).toBe(true);
    const guarded = await cli(...ppoArgs(join(dir, 'ppo-c.safetensors'), '--iterations', '20', '--lr', '1e-2', '--kl', 'fixed', '--beta', '0', '--kl-budget', '0.05'));
    expect(guarded.out).toMatch(/stopped: KL to the reference \d+\.\d+ nats per response exceeds the budget 0\.05 at iteration \d+/);
    expect(guarded.out).toMatch(/the run stopped at the KL budget/);
  });

  it('sft and dpo name a bad data file by line, and refuse the wrong kind of record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"prompt":"a","response":"b"}\n{"prompt":"a","response":false}\n');
    expect((await cli('align', 'sft', 'none.safetensors', '--data', bad, '--out', join(dir, 'o'))).err).toBe(`unilab align: ${bad} line 2: field "response" must be a string, got false`);
    const demos = join(dir, 'demos.jsonl');
    await writeFile(demos, '{"prompt":"a","response":"b"}\n');
    expect((await cli('align', 'dpo', 'none.safetensors', '--data', demos, '--out', join(dir, 'o'))).err).toMatch(/no comparisons \(lines with "prompt", "chosen" and "rejected"\)/);
    expect((await cli('align', 'sft', 'none.safetensors', '--out', join(dir, 'o'))).err).toMatch(/^unilab align: --data FILE is required/);
  });
});
