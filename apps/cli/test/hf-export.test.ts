import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';
import { cli } from './run-cli.ts';

/** A spec file training `architecture` for 2 steps on four State of the Union addresses. */
async function specFile(dir: string, architecture: string, config: Record<string, unknown> = {}): Promise<string> {
  const corpus = join(dir, 'corpus');
  await mkdir(corpus, { recursive: true });
  for (const [i, d] of (await readSotu()).slice(0, 4).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
  const path = join(dir, `${architecture}.json`);
  await writeFile(
    path,
    JSON.stringify({
      name: 'hf-cli',
      data: { corpus },
      model: { architecture, config: { layers: 1, dModel: 16, heads: 2, ...config } },
      objective: { name: architecture === 'prefix-lm' ? 'prefixlm' : 'clm' },
      train: { steps: 2, batchSize: 2, seqLen: 16, warmupSteps: 1, evalEvery: 0, checkpointEvery: 2 },
      samplePrompts: [],
    }),
  );
  return path;
}

describe('unilab export --format hf / import', () => {
  it('a decoder goes out as a LlamaForCausalLM directory and comes back as a checkpoint that generates and trains', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-hf-'));
    const spec = await specFile(dir, 'decoder', { kvHeads: 1, tieEmbeddings: true });
    expect((await cli('train', spec, '--out', join(dir, 'run'))).code).toBe(0);
    const checkpoint = join(dir, 'run', 'checkpoints', 'step-00000002.safetensors');

    const out = join(dir, 'hf');
    const exported = await cli('export', checkpoint, '--format', 'hf', '--out', out);
    expect(exported.err).toBe('');
    expect(exported.code).toBe(0);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 16, num_key_value_heads: 1, tie_word_embeddings: true });
    const tokenizerConfig = JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'));
    expect(tokenizerConfig).toMatchObject({ eos_token: '<|eos|>', pad_token: '<|pad|>' });

    const imported = join(dir, 'imported.safetensors');
    const back = await cli('import', out, '--out', imported);
    expect(back.err).toBe('');
    expect(back.out).toContain('decoder');
    const gen = await cli('generate', imported, '--prompt', 'Fellow', '--max-tokens', '4', '--temperature', '0');
    expect(gen.code).toBe(0);
    expect(gen.out.startsWith('Fellow')).toBe(true);
    const trainOn = await cli('train', spec, '--out', join(dir, 'run2'), '--init-from', imported);
    expect(trainOn.err).toBe('');
    expect(trainOn.code).toBe(0);
  }, 120_000);

  it('architectures without an exact transformers class are refused with the reason, and bad input is named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-hf-'));
    const spec = await specFile(dir, 'prefix-lm');
    const train = await cli('train', spec, '--out', join(dir, 'run'));
    expect(train.err).toBe('');
    const checkpoint = join(dir, 'run', 'checkpoints', 'step-00000002.safetensors');
    const refused = await cli('export', checkpoint, '--format', 'hf', '--out', join(dir, 'hf'));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^unilab export: cannot export architecture "prefix-lm" to Hugging Face format: its prefix attends bidirectionally/);
    expect((await cli('export', checkpoint, '--format', 'onnx', '--out', join(dir, 'x'))).err).toBe(
      'unilab export: --format must be "hf" (Hugging Face transformers); got "onnx"',
    );
    expect((await cli('import', join(dir, 'nowhere'), '--out', join(dir, 'x.safetensors'))).err).toMatch(/^unilab import: config\.json: .*nowhere\/config\.json does not exist/);
    await mkdir(join(dir, 'gpt2'));
    await writeFile(join(dir, 'gpt2', 'config.json'), JSON.stringify({ model_type: 'gpt2', hidden_act: 'gelu_new', hidden_size: 16, num_attention_heads: 2 }));
    expect((await cli('import', join(dir, 'gpt2'), '--out', join(dir, 'x.safetensors'))).err).toMatch(
      /^unilab import: cannot import .*gpt2 as a unilab decoder: model_type "gpt2" \(need "llama"\); hidden_act "gelu_new"/,
    );
  }, 120_000);
});
