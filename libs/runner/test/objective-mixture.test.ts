import { describe, expect, it } from 'vitest';
import type { Batch, Batcher } from '@unilab/core';
import { ByteTokenizer, createDocumentStream, readSotu } from '@unilab/data';
import {
  createDefaultRegistry,
  createObjectiveBatcher,
  jobTokenizer,
  objectiveLabel,
  parseJobSpec,
  parseTrainingSpec,
  tokenizerFor,
  validateJobPlugins,
  type ObjectiveMixtureState,
  type ObjectiveSpec,
} from '../src/index.ts';

const registry = createDefaultRegistry();

/** CLM, T5 span corruption and prefix LM at rates 0.6 / 0.3 / 0.1, on State of the Union text, for a decoder. */
const mixture: ObjectiveSpec = {
  mixture: [
    { name: 'clm', config: {}, weight: 6 },
    { name: 'span-corruption', config: {}, weight: 3 },
    { name: 'prefixlm', config: {}, weight: 1 },
  ],
};

async function sotuDocuments(tokenizer: ByteTokenizer): Promise<Int32Array[]> {
  return (await readSotu()).slice(0, 40).map((d) => tokenizer.encode(d.text));
}

function mixtureBatcher(tokenizer: ByteTokenizer, documents: Int32Array[], seed: number): Batcher {
  const context = { batchSize: 1, seqLen: 32, encoderLen: 32, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
  return createObjectiveBatcher(mixture, registry, context, createDocumentStream(documents, seed), seed);
}

/** Which objective made a batch, from the batch alone: sentinels mean span corruption, a visible prefix prefix LM. */
function madeBy(batch: Batch, tokenizer: ByteTokenizer): number {
  const sentinel = tokenizer.specialTokens.extra_id_0;
  if (batch.tokens.some((t) => t >= sentinel)) return 1;
  return batch.prefixEnd.some((p) => p > 0) ? 2 : 0;
}

describe('objective mixture', () => {
  it('realises its rates within 2% over 10,000 batches, each batch whole from one objective', async () => {
    const spec = parseTrainingSpec({ objective: mixture });
    const tokenizer = tokenizerFor(spec, registry);
    const batcher = mixtureBatcher(tokenizer, await sotuDocuments(tokenizer), 11);
    const seen = [0, 0, 0];
    const n = 10_000;
    for (let i = 0; i < n; i++) seen[madeBy(batcher.next(), tokenizer)]++;
    // The batches themselves say which objective made them, and agree with the mixture's own count.
    expect((batcher.state() as ObjectiveMixtureState).batches).toEqual(seen);
    const rates = seen.map((count) => count / n);
    [0.6, 0.3, 0.1].forEach((weight, i) => expect(Math.abs(rates[i] - weight), `component ${i}: ${rates[i]}`).toBeLessThanOrEqual(0.02));
  });

  it('restored from its state, continues with exactly the batches an uninterrupted batcher makes', async () => {
    const tokenizer = tokenizerFor(parseTrainingSpec({ objective: mixture }), registry);
    const documents = await sotuDocuments(tokenizer);
    const straight = mixtureBatcher(tokenizer, documents, 5);
    for (let i = 0; i < 37; i++) straight.next();
    const saved = JSON.parse(JSON.stringify(straight.state()));
    const expected = Array.from({ length: 60 }, () => straight.next());

    const resumed = mixtureBatcher(tokenizer, documents, 5);
    resumed.next();
    resumed.restore(saved);
    expect(Array.from({ length: 60 }, () => resumed.next())).toEqual(expected);
    expect(resumed.state()).toEqual(straight.state());
  });

  it('for an encoder-decoder, every batch of a mixture carries encoder inputs, whichever objective made it', async () => {
    const objective: ObjectiveSpec = {
      mixture: [
        { name: 'span-corruption', config: {}, weight: 1 },
        { name: 'prefixlm', config: {}, weight: 1 },
        { name: 'ul2', config: {}, weight: 1 },
      ],
    };
    const tokenizer = tokenizerFor(parseTrainingSpec({ objective }), registry);
    const context = { batchSize: 2, seqLen: 32, encoderLen: 32, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'encoder-decoder' as const };
    const batcher = createObjectiveBatcher(objective, registry, context, createDocumentStream(await sotuDocuments(tokenizer), 2), 2);
    for (let i = 0; i < 300; i++) expect(batcher.next().encoder?.encoderLen).toBe(32);
    expect((batcher.state() as ObjectiveMixtureState).batches.every((n) => n > 50)).toBe(true);
  });

  it('reserves the union of the components special tokens, and a job reserves every stage', () => {
    const tokenizer = tokenizerFor(parseTrainingSpec({ objective: { mixture: [{ name: 'clm', weight: 1 }, { name: 'ul2', weight: 1 }] } }), registry);
    expect(Object.keys(tokenizer.specialTokens)).toEqual(['eos', 'pad', ...registry.objective('ul2').specialTokens]);
    const job = parseJobSpec({
      train: { warmupSteps: 1 },
      stages: [
        { name: 'causal', steps: 2 },
        { name: 'mixed', steps: 2, objective: { mixture: [{ name: 'clm', weight: 1 }, { name: 'span-corruption', weight: 1 }] } },
      ],
    });
    expect(tokenizerFor(job.stages[0].spec, registry).vocabSize).toBe(258);
    expect(jobTokenizer(job, registry).specialTokens.extra_id_99).toBe(257 + 100);
    expect(objectiveLabel(job.stages[1].spec.objective)).toBe('clm 50% + span-corruption 50%');
    expect(objectiveLabel(job.stages[0].spec.objective)).toBe('clm');
  });
});

describe('objective mixture validation', () => {
  const train = { warmupSteps: 1 };
  const stages = (objective: unknown) => ({ train, stages: [{ name: 'a', steps: 2 }, { name: 'b', steps: 2, objective }] });
  const validate = (spec: unknown) => () => validateJobPlugins(parseJobSpec(spec), registry);

  it('names the bad component by its path', () => {
    expect(validate(stages({ mixture: [{ name: 'clm', weight: 1 }, { name: 'bert-mlm', weight: 1 }] }))).toThrow(
      /^spec\.stages\[1\]\.objective\.mixture\[1\]\.name: objective "bert-mlm" cannot train architecture "decoder": its bidirectional examples need a mask the model does not honour \(it honours causal\); it trains prefix-lm, unilm, glm, encoder$/,
    );
    expect(validate(stages({ mixture: [{ name: 'clm-typo', weight: 1 }] }))).toThrow(/^spec\.stages\[1\]\.objective\.mixture\[0\]\.name: unknown objective "clm-typo"; available: clm/);
    expect(validate(stages({ mixture: [{ name: 'clm', weight: 1 }, { name: 'span-corruption', config: { noiseDensity: 2 }, weight: 1 }] }))).toThrow(
      /^spec\.stages\[1\]\.objective\.mixture\[1\]\.config\.noiseDensity: expected a number/,
    );
    expect(validate({ train, model: { architecture: 'encoder-decoder', config: {} }, objective: { mixture: [{ name: 'span-corruption', weight: 1 }, { name: 'clm', weight: 1 }] } })).toThrow(
      /^spec\.objective\.mixture\[1\]\.name: objective "clm" cannot train architecture "encoder-decoder"/,
    );
    expect(validate({ train, objective: { mixture: [{ name: 'glm', weight: 1 }] } })).toThrow(/^spec\.objective\.mixture\[0\]\.name: objective "glm" cannot train architecture "decoder"/);
    expect(validate({ train, stages: [{ name: 'only', steps: 2, objective: { mixture: [{ name: 'glm', weight: 1 }] } }] })).toThrow(
      /^spec\.stages\[0\]\.objective\.mixture\[0\]\.name: objective "glm" cannot train architecture "decoder"/,
    );
  });

  it('refuses a weight that is not > 0, an empty mixture, and a name beside a mixture', () => {
    expect(validate(stages({ mixture: [{ name: 'clm', weight: 0 }] }))).toThrow(/^spec\.stages\[1\]\.objective\.mixture\[0\]\.weight: expected a number > 0, got 0/);
    expect(validate(stages({ mixture: [{ name: 'clm' }] }))).toThrow(/^spec\.stages\[1\]\.objective\.mixture\[0\]\.weight: missing; expected a number > 0/);
    expect(validate({ train, objective: { mixture: [] } })).toThrow(/^spec\.objective\.mixture: expected at least 1 entries, got 0/);
    expect(validate({ train, objective: { name: 'clm', mixture: [{ name: 'clm', weight: 1 }] } })).toThrow(
      /^spec\.objective: expected either \{ name, config \} \(one objective\) or \{ mixture: \[\.\.\.\] \} \(several\), not both/,
    );
  });
});
