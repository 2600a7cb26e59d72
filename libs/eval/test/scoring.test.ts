import { evaluateLoss, PAD_SEGMENT, type Batch } from '@unilab/core';
import { readSotu } from '@unilab/data';
import { createDefaultRegistry, createObjectiveBatcher, loadModel } from '@unilab/runner';
import { createDocumentStream } from '@unilab/data';
import { describe, expect, it } from 'vitest';
import { describeContinuationFormat, loadScoringModel, loglikelihoods, scoreTargets, scoringModel, type TokenScoringRequest } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

/** One packed example of a batch: its decoder part, its bidirectional horizon and its encoder part. */
interface PackedExample {
  tokens: number[];
  targets: number[];
  lossMask: number[];
  prefixEnd: number;
  encoder: number[];
}

function packedExamples(batch: Batch): PackedExample[] {
  const out: PackedExample[] = [];
  for (let row = 0; row < batch.batchSize; row++) {
    const bySegment = new Map<number, PackedExample>();
    for (let i = 0; i < batch.seqLen; i++) {
      const at = row * batch.seqLen + i;
      const segment = batch.segmentIds[at];
      if (segment === PAD_SEGMENT) continue;
      let example = bySegment.get(segment);
      if (!example) {
        example = { tokens: [], targets: [], lossMask: [], prefixEnd: batch.prefixEnd[at] > 0 ? batch.prefixEnd[at] - i : 0, encoder: [] };
        bySegment.set(segment, example);
      }
      example.tokens.push(batch.tokens[at]);
      example.targets.push(batch.targets[at]);
      example.lossMask.push(batch.lossMask[at]);
    }
    if (batch.encoder)
      for (let i = 0; i < batch.encoder.encoderLen; i++) {
        const at = row * batch.encoder.encoderLen + i;
        const segment = batch.encoder.segmentIds[at];
        if (segment !== PAD_SEGMENT) bySegment.get(segment)!.encoder.push(batch.encoder.tokens[at]);
      }
    out.push(...bySegment.values());
  }
  return out;
}

/** The targets that carry loss, checked to be one run ending the example (every layout here scores a suffix). */
function scoredSuffix(example: PackedExample, from: number): number[] {
  const first = example.lossMask.indexOf(1);
  expect(first).toBe(from);
  const last = example.lossMask.lastIndexOf(1);
  expect(example.lossMask.slice(first, last + 1).every((m) => m === 1)).toBe(true);
  return example.targets.slice(first, last + 1);
}

type Extract = (example: PackedExample) => TokenScoringRequest;

// Each objective's own batches, decomposed into (input, target) pairs: the scoring primitive, laying each pair out
// as the objective's inference presentation says, must give back exactly the training loss of those batches.
const cases: [string, string, Record<string, unknown>, Extract][] = [
  ['clm', 'decoder', { name: 'clm' }, (e) => ({ input: e.tokens.slice(0, 1), target: scoredSuffix(e, 0) })],
  ['prefixlm', 'decoder', { name: 'prefixlm' }, (e) => ({ input: e.tokens.slice(0, e.prefixEnd - 1), target: scoredSuffix(e, e.prefixEnd - 1) })],
  ['prefixlm', 'prefix-lm', { name: 'prefixlm' }, (e) => ({ input: e.tokens.slice(0, e.prefixEnd - 1), target: scoredSuffix(e, e.prefixEnd - 1) })],
  ['prefixlm', 'encoder-decoder', { name: 'prefixlm' }, (e) => ({ input: e.encoder.slice(0, -1), target: scoredSuffix(e, 0) })],
  [
    'ul2 (S-denoiser only, [S2S])',
    'decoder',
    { name: 'ul2', config: { denoisers: [{ paradigm: 'S', noiseDensity: 0.25, rate: 1 }] } },
    (e) => ({ input: e.tokens.slice(1, e.prefixEnd - 1), target: scoredSuffix(e, e.prefixEnd - 1) }),
  ],
  [
    'ul2 (S-denoiser only, [S2S])',
    'encoder-decoder',
    { name: 'ul2', config: { denoisers: [{ paradigm: 'S', noiseDensity: 0.25, rate: 1 }] } },
    (e) => ({ input: e.encoder.slice(1, -1), target: scoredSuffix(e, 0) }),
  ],
  ['sclm (causal half)', 'encoder-decoder', { name: 'sclm', config: { causalRate: 1 } }, (e) => ({ input: [], target: scoredSuffix(e, 0) })],
  [
    'glm ([gMASK] only)',
    'glm',
    { name: 'glm', config: { tokenRate: 0, documentRate: 1 } },
    (e) => ({ input: e.tokens.slice(0, e.prefixEnd - 1), target: scoredSuffix(e, e.prefixEnd) }),
  ],
];

describe('the scoring primitive', () => {
  it.each(cases)('%s on %s: scoring its own batches gives back the training loss', async (_label, architecture, objective, extract) => {
    const corpus = await sotuSubset(4);
    const { spec, model, result } = await trainTiny(corpus, architecture, objective);
    const registry = createDefaultRegistry();
    const documents = (await readSotu()).slice(4, 6).map((d) => result.tokenizer.encode(d.text.slice(0, 3000)));
    const context = {
      batchSize: 4,
      seqLen: spec.train.seqLen,
      encoderLen: spec.train.seqLen,
      vocabSize: result.tokenizer.vocabSize,
      specialTokens: result.tokenizer.specialTokens,
      form: registry.architecture(architecture).consumes.form,
    };
    const batches = [0, 1].map(() => createObjectiveBatcher(spec.objective, registry, context, createDocumentStream(documents, 3), 11).next());
    const loss = await evaluateLoss(result.backend, result.model, batches);
    const requests = batches.flatMap(packedExamples).map(extract);
    const scores = await scoreTargets(model, 'lm', requests, { batchRows: 5 });
    const nats = -scores.reduce((s, x) => s + x.logProb, 0);
    const tokens = scores.reduce((s, x) => s + x.tokens, 0);
    expect(scores.every((s) => s.droppedInput === 0)).toBe(true);
    expect(tokens).toBe(batches.reduce((n, b) => n + b.lossMask.reduce((s, m) => s + m, 0), 0));
    expect(Math.abs(nats / tokens - loss)).toBeLessThan(2e-4 * loss);
    console.info(`${_label} on ${architecture}: ${describeContinuationFormat(model, 'lm')}; loss ${loss.toFixed(5)}, scored ${(nats / tokens).toFixed(5)} over ${tokens} tokens`);
  });
});
