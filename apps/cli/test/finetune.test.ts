import { mkdtemp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';
import { cli } from './run-cli.ts';

describe('unilab finetune', () => {
  it('fine-tunes a trained checkpoint with LoRA and adapters, prints the table and saves each classifier; bad flags are named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-ft-'));
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    for (const [i, d] of (await readSotu()).slice(0, 3).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
    const spec = {
      name: 'ft-cli',
      data: { corpus },
      model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
      train: { steps: 2, batchSize: 2, seqLen: 32, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      samplePrompts: [],
    };
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    expect((await cli('train', join(dir, 'spec.json'), '--out', join(dir, 'run'))).code).toBe(0);
    const checkpoint = join(dir, 'run', 'checkpoints', 'step-00000002.safetensors');
    const sizes = ['--train-per-label', '4', '--test-per-label', '3', '--epochs', '1', '--batch-size', '4'];
    const run = await cli('finetune', checkpoint, '--task', 'spam-ham', '--method', 'lora,adapter', ...sizes, '--out', join(dir, 'tuned'));
    expect(run.code, run.err).toBe(0);
    const lines = run.out.split('\n');
    expect(lines[0]).toBe(`unilab finetune: spam-ham (ham / spam): 8 train, 6 test examples; chance 50.0%; base ${checkpoint}`);
    expect(lines[1]).toBe('| method | trainable params | accuracy (95% CI) | n | chance | train time | steps |');
    expect(lines[3]).toMatch(/^\| lora \| [\d,]+ \(\d+\.\d\d%\) \| \d+\.\d% \[\d+\.\d%, \d+\.\d%\] \| 6 \| 50\.0% \| \d+\.\d s \| 2 \|$/);
    expect(lines[4]).toMatch(/^\| adapter \| /);
    expect((await readdir(join(dir, 'tuned'))).sort()).toEqual(['spam-ham-adapter.safetensors', 'spam-ham-lora.safetensors']);

    const bad = async (...flags: string[]) => (await cli('finetune', checkpoint, ...flags)).err;
    expect(await bad('--task', 'imdb')).toBe('unilab finetune: --task: unknown task "imdb"; choose brown-genre, spam-ham, sotu-party');
    expect(await bad('--method', 'prompt')).toBe('unilab finetune: --method: unknown method "prompt"; use one of full, lora, adapter or all (a comma list is fine)');
    expect(await bad('--epochs', '0')).toBe('unilab finetune: --epochs: expected a positive integer, got 0');
    expect(await bad('--pooling', 'max')).toBe('unilab finetune: --pooling: "max" is not one of mean, last');
    expect(await bad('--method', 'lora', '--lora-targets', 'wqkv', ...sizes)).toMatch(/^unilab finetune: --lora-targets\[0\]: LoRA target "wqkv" is no projection of architecture "decoder"; it declares query \(wq\), key \(wk\), value \(wv\)/);
    expect((await cli('finetune')).err).toMatch(/^unilab finetune: usage: unilab finetune <checkpoint.safetensors>/);
  });
});
