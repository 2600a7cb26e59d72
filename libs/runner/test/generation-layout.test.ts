import { describe, expect, it } from 'vitest';
import type { Batch, Model } from '@unilab/core';
import { ByteTokenizer, createDocumentStream, readSotu } from '@unilab/data';
import {
  ContextWindow,
  continuationRow,
  createDefaultRegistry,
  createObjectiveBatcher,
  encodePrompt,
  generationLayout,
  modelPresentation,
  objectiveSpecialTokens,
  parseTrainingSpec,
  partsFromMarkedText,
  type LoadedModel,
  type ObjectiveSpec,
} from '../src/index.ts';

/**
 * Generation presents a prompt the way training presented an input: the row it builds from an input and an answer
 * so far must be, token for token (positions, block positions, prefix), the row the objective's own batcher made for
 * that input and target, on real text. Models are not needed: only their spec and tokenizer.
 */
const registry = createDefaultRegistry();

function tokenizerFor(objective: ObjectiveSpec): ByteTokenizer {
  return new ByteTokenizer(objectiveSpecialTokens([objective], registry));
}

/** What generation knows of a model, without its weights. */
function modelStub(objective: ObjectiveSpec, architecture: string, tokenizer: ByteTokenizer): LoadedModel {
  const spec = parseTrainingSpec({ model: { architecture, config: {} }, objective, train: { seqLen: 64 } });
  const presentation = modelPresentation(architecture, spec.objective, registry, tokenizer);
  return { model: { architecture } as Model, tokenizer, backend: undefined as never, seqLen: 64, spec, presentation };
}

/** The first example (segment) of each of `count` training rows the objective makes for `architecture`. */
async function trainingExamples(objective: ObjectiveSpec, architecture: string, tokenizer: ByteTokenizer, count: number) {
  const documents = (await readSotu()).slice(0, 12).map((d) => tokenizer.encode(d.text));
  const context = { batchSize: 1, seqLen: 64, encoderLen: 64, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: registry.architecture(architecture).consumes.form };
  const batcher = createObjectiveBatcher(objective, registry, context, createDocumentStream(documents, 5), 5);
  const examples = [];
  for (let i = 0; i < count; i++) {
    const batch: Batch = batcher.next();
    const length = batch.segmentIds.findIndex((s) => s !== batch.segmentIds[0]);
    const end = length < 0 ? batch.seqLen : length;
    examples.push({
      tokens: Array.from(batch.tokens.subarray(0, end)),
      positions: Array.from(batch.positions.subarray(0, end)),
      blockPositions: batch.blockPositions && Array.from(batch.blockPositions.subarray(0, end)),
      prefixEnd: batch.prefixEnd[0],
    });
  }
  return examples;
}

describe('generation lays prompts out as training laid out inputs', () => {
  it('UL2 with --mode: the mode token leads the input, eos ends it, the target follows (R, X and S examples alike)', async () => {
    const objective = { name: 'ul2', config: {} };
    const tokenizer = tokenizerFor(objective);
    const loaded = modelStub(objective, 'decoder', tokenizer);
    const examples = await trainingExamples(objective, 'decoder', tokenizer, 24);
    for (const mode of ['S2S', 'NLU', 'NLG']) {
      const presented = generationLayout(loaded, mode);
      const ofMode = examples.filter((ex) => ex.tokens[0] === tokenizer.specialTokens[mode]);
      expect(ofMode.length, `${mode} examples`).toBeGreaterThan(0);
      for (const ex of ofMode) {
        const p = ex.prefixEnd;
        expect(ex.tokens[p - 1]).toBe(tokenizer.specialTokens.eos);
        const row = continuationRow(presented, ex.tokens.slice(1, p - 1), ex.tokens.slice(p), 64);
        expect({ tokens: row.tokens, positions: row.positions, prefixEnd: row.prefixEnd }).toEqual({ tokens: ex.tokens, positions: ex.positions, prefixEnd: p });
        expect(row.next).toBe(ex.tokens.length - 1);
      }
    }
    // Without a mode: the objective's own continuation layout, [S2S] input eos.
    const row = continuationRow(generationLayout(loaded), [65, 66], [], 64);
    expect(row.tokens).toEqual([tokenizer.specialTokens.S2S, 65, 66, tokenizer.specialTokens.eos]);
    expect(row.prefixEnd).toBe(4);
  });

  it('UL2 on an encoder-decoder: the encoder reads mode, input, eos; the decoder starts from pad', () => {
    const objective = { name: 'ul2', config: {} };
    const tokenizer = tokenizerFor(objective);
    const row = continuationRow(generationLayout(modelStub(objective, 'encoder-decoder', tokenizer), 'NLU'), [65, tokenizer.specialTokens.extra_id_0, 66], [], 64);
    expect(row.encoderTokens).toEqual([tokenizer.specialTokens.NLU, 65, tokenizer.specialTokens.extra_id_0, 66, tokenizer.specialTokens.eos]);
    expect(row.tokens).toEqual([tokenizer.specialTokens.pad]);
  });

  it('GLM trained with document blanks generates after [gMASK]: Part B from [sop] at the blank\'s position, block positions 1, 2, ...', async () => {
    const objective = { name: 'glm', config: { preset: 'glm-10b', tokenRate: 0, sentenceRate: 0, documentRate: 1 } };
    const tokenizer = tokenizerFor(objective);
    const presented = generationLayout(modelStub(objective, 'glm', tokenizer));
    for (const ex of await trainingExamples(objective, 'glm', tokenizer, 4)) {
      const p = ex.prefixEnd;
      expect(ex.tokens[p - 1]).toBe(tokenizer.specialTokens.gMASK);
      expect(ex.tokens[p]).toBe(tokenizer.specialTokens.sop);
      const row = continuationRow(presented, ex.tokens.slice(0, p - 1), ex.tokens.slice(p + 1), 64);
      expect({ tokens: row.tokens, positions: row.positions, blockPositions: row.blockPositions, prefixEnd: row.prefixEnd }).toEqual({
        tokens: ex.tokens,
        positions: ex.positions,
        blockPositions: ex.blockPositions,
        prefixEnd: p,
      });
    }
  });

  it('a mode is refused for a model without mode tokens, and an unknown mode names the known ones', () => {
    const clm = { name: 'clm', config: {} };
    expect(() => generationLayout(modelStub(clm, 'decoder', tokenizerFor(clm)), 'NLU')).toThrow(
      'mode "NLU": this model was trained with clm, whose inputs carry no mode token (UL2 with modeTokens has NLU, NLG, S2S)',
    );
    const ul2 = { name: 'ul2', config: {} };
    expect(() => generationLayout(modelStub(ul2, 'decoder', tokenizerFor(ul2)), 'XYZ')).toThrow('mode "XYZ": expected one of NLU, NLG, S2S');
    const withoutModes = { name: 'ul2', config: { modeTokens: false } };
    expect(() => generationLayout(modelStub(withoutModes, 'decoder', tokenizerFor(withoutModes)), 'S2S')).toThrow('whose inputs carry no mode token');
  });
});

describe('special tokens in prompts are deliberate', () => {
  const tokenizer = tokenizerFor({ name: 'span-corruption', config: {} });

  it('plain text is never read for special tokens: "<|extra_id_0|>" typed in a prompt stays its characters', () => {
    expect(encodePrompt(tokenizer, 'a <|extra_id_0|> b')).toEqual(Array.from(tokenizer.encode('a <|extra_id_0|> b')));
    expect(encodePrompt(tokenizer, 'a <|extra_id_0|> b')).not.toContain(tokenizer.specialTokens.extra_id_0);
  });

  it('markers become special tokens only when asked for (--special)', () => {
    const parts = partsFromMarkedText('The <|extra_id_0|> of the <|extra_id_1|>.');
    expect(parts).toEqual(['The ', { special: 'extra_id_0' }, ' of the ', { special: 'extra_id_1' }, '.']);
    const ids = encodePrompt(tokenizer, parts);
    expect(ids).toEqual([...tokenizer.encode('The '), tokenizer.specialTokens.extra_id_0, ...tokenizer.encode(' of the '), tokenizer.specialTokens.extra_id_1, ...tokenizer.encode('.')]);
  });
});

describe('the context window', () => {
  const objective = { name: 'prefixlm', config: {} };
  const tokenizer = tokenizerFor(objective);
  const presented = generationLayout(modelStub(objective, 'decoder', tokenizer));

  it('crops a long prompt from the left; when the answer outgrows the context the last tokens, half a context, become the new input', () => {
    const seqLen = 16;
    const prompt = Array.from({ length: 30 }, (_, i) => 65 + (i % 26));
    const window = new ContextWindow(presented, prompt, seqLen);
    // The prompt's last 15 tokens and eos fill the context.
    expect(window.row().tokens).toEqual([...prompt.slice(-15), tokenizer.specialTokens.eos]);
    const generated: number[] = [];
    const inputs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const row = window.row();
      expect(row.tokens.length).toBeLessThanOrEqual(seqLen);
      inputs.push(row.prefixEnd - 1);
      generated.push(97 + i);
      window.push(97 + i);
    }
    expect(window.generated()).toEqual(generated);
    // The first token overflowed: 7 input tokens + eos = 8 = seqLen / 2; the answer then fills the other half, and so on.
    expect(inputs).toEqual([15, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
    const row = window.row();
    const text = [...prompt, ...generated];
    const input = row.tokens.slice(0, row.prefixEnd - 1);
    const answer = row.tokens.slice(row.prefixEnd);
    expect([...input, ...answer]).toEqual(text.slice(text.length - input.length - answer.length));
  });
});
