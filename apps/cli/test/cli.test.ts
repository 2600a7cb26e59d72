import { mkdtemp, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSotu } from '@unilab/data';
import { cli } from './run-cli.ts';


async function tinySpecFile(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const corpus = join(dir, 'corpus');
  await mkdir(corpus);
  for (const [i, d] of (await readSotu()).slice(0, 4).entries()) await writeFile(join(corpus, `${i}.txt`), d.text);
  const spec = {
    name: 'cli-test',
    data: { corpus },
    model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
    train: { steps: 4, batchSize: 2, seqLen: 16, warmupSteps: 1, evalEvery: 2, evalBatches: 1, checkpointEvery: 2 },
    samplePrompts: ['We the people'],
    ...extra,
  };
  const path = join(dir, 'spec.json');
  await writeFile(path, JSON.stringify(spec));
  return path;
}

describe('unilab CLI', () => {
  it('train runs a spec, reports held-out loss and a sample; generate samples from its checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-'));
    const spec = await tinySpecFile(dir);
    const train = await cli('train', spec, '--out', join(dir, 'run'));
    expect(train.code).toBe(0);
    expect(train.out).toMatch(/held-out loss \d+\.\d+ nats\/token vs unigram entropy/);
    expect(train.out).toContain('sample> We the people');
    const checkpoints = await readdir(join(dir, 'run', 'checkpoints'));
    expect(checkpoints).toContain('step-00000004.safetensors');
    const gen = await cli('generate', join(dir, 'run', 'checkpoints', 'step-00000004.safetensors'), '--prompt', 'Fellow', '--max-tokens', '5', '--top-k', '3');
    expect(gen.code).toBe(0);
    expect(gen.out.startsWith('Fellow')).toBe(true);
    const mode = await cli('generate', join(dir, 'run', 'checkpoints', 'step-00000004.safetensors'), '--prompt', 'Fellow', '--mode', 'NLU');
    expect(mode.err).toBe('unilab generate: mode "NLU": this model was trained with clm, whose inputs carry no mode token (UL2 with modeTokens has NLU, NLG, S2S)');
  });

  it('generate --mode and --special prompt a UL2 model as it was trained; --no-cache gives the same greedy tokens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-'));
    const spec = await tinySpecFile(dir, { objective: { name: 'ul2', config: {} }, samplePrompts: [] });
    expect((await cli('train', spec, '--out', join(dir, 'run'))).code).toBe(0);
    const checkpoint = join(dir, 'run', 'checkpoints', 'step-00000004.safetensors');
    const greedy = ['--max-tokens', '24', '--temperature', '0'];
    for (const mode of ['NLU', 'NLG', 'S2S']) {
      const args = ['generate', checkpoint, '--special', '--mode', mode, '--prompt', 'We the <|extra_id_0|> of the United States', ...greedy];
      const cached = await cli(...args);
      expect(cached.code, cached.err).toBe(0);
      expect(cached.out.startsWith('We the <|extra_id_0|> of the United States')).toBe(true);
      expect((await cli(...args, '--no-cache')).out).toBe(cached.out);
    }
    expect((await cli('generate', checkpoint, '--mode', 'R', '--prompt', 'x')).err).toBe('unilab generate: mode "R": expected one of NLU, NLG, S2S');
    expect((await cli('generate', checkpoint, '--special', '--prompt', 'a <|gMASK|>')).err).toMatch(
      /^unilab generate: prompt\[1\]: this model's tokenizer has no special token "gMASK"; it has eos, pad, NLU, NLG, S2S, extra_id_0\.\.extra_id_99/,
    );
  });

  it('a malformed spec exits 1 with one line naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-'));
    const spec = await tinySpecFile(dir, { train: { batchSize: -3 } });
    const r = await cli('train', spec);
    expect(r.code).toBe(1);
    expect(r.err).toBe('unilab train: invalid spec: spec.train.batchSize: expected an integer >= 1 and <= 4096, got -3');
  });

  it("preview renders UniLM's encoder-decoder form: the denoising mode and the reversed one", async () => {
    const text = 'The abundant fruits of another year have blessed our country with plenty.';
    const bidirectional = await cli('preview', 'unilm', '--arch', 'encoder-decoder', '--seed', '8', '--text', text);
    expect(bidirectional.code).toBe(0);
    expect(bidirectional.out).toBe(
      [
        'unilm · encoder-decoder · seed 8',
        'encoder sees    The[MASK][MASK]bu[MASK]dant fruits of[MASK]an[MASK]th[MASK]r y[MASK]ar Bave blessed our country with plenty.[eos]',
        'decoder sees    [pad]The abundant fruits of another year have blessed our country with plenty.',
        'predicts        ·    ··␣a··n······ru······␣··o··e··ye···h·····································',
        'attention       encoder bidirectional; decoder causal, cross-attends to its encoder example',
      ].join('\n'),
    );
    const reversed = await cli('preview', 'unilm', '--arch', 'encoder-decoder', '--seed', '5', '--text', text);
    expect(reversed.out.split('\n').slice(1, 4)).toEqual([
      'encoder sees    [eos]',
      'decoder sees    [eos].ytnelp htiw yrtnuoc ruo desselb evah raey rehtona fo stiurf tnadnuba ehT',
      'predicts        .    ytnelp␣htiw␣yrtnuoc␣ruo␣desselb␣evah␣raey␣rehtona␣fo␣stiurf␣tnadnuba␣ehT[eos]',
    ]);
  });

  it('missing files and bad flags are named', async () => {
    expect((await cli('train', '/no/such/spec.json')).err).toBe('unilab train: spec file /no/such/spec.json does not exist');
    const dir = await mkdtemp(join(tmpdir(), 'unilab-cli-'));
    const notJson = join(dir, 'bad.json');
    await writeFile(notJson, '{ "train": ');
    expect((await cli('train', notJson)).err).toMatch(/^unilab train: spec file .*bad.json is not valid JSON/);
    expect((await cli('generate', '/no/ckpt.safetensors', '--prompt', 'x')).err).toBe(
      'unilab generate: checkpoint /no/ckpt.safetensors does not exist',
    );
    expect((await cli('generate', '/no/ckpt.safetensors', '--prompt', 'x', '--top-p', '2')).err).toBe(
      'unilab generate: --top-p must be in (0, 1]',
    );
    expect((await cli('generate', '/no/ckpt.safetensors', '--prompt', 'x', '--mode')).err).toBe(
      'unilab generate: --mode needs a value: NLU, NLG or S2S (UL2 paradigms, for models trained with mode tokens)',
    );
    expect((await cli('frobnicate')).code).toBe(1);
  });
});
