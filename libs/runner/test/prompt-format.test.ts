import { describe, expect, it } from 'vitest';
import type { Batch } from '@unilab/core';
import { ByteTokenizer, createDocumentStream, readSotu } from '@unilab/data';
import {
  ContextWindow,
  createDefaultRegistry,
  createObjectiveBatcher,
  encodePrompt,
  inferenceLayout,
  objectiveSpecialTokens,
  promptRow,
  resolvePromptFormat,
  rowBatch,
  segmentsFromMarkedText,
  type ObjectiveSpec,
  type PromptFormat,
} from '../src/index.ts';

/**
 * Inference presents a prompt the way training presented an input: for each objective, the row generation builds
 * from an input and an answer so far must be token for token (positions, block positions, prefix) the row the
 * objective's own batcher made for that input and target, on real text.
 */
const registry = createDefaultRegistry();

function tokenizerFor(objective: ObjectiveSpec): ByteTokenizer {
  return new ByteTokenizer(objectiveSpecialTokens([objective], registry));
}

function formatFor(objective: ObjectiveSpec, architecture: string, tokenizer: ByteTokenizer, mode?: string): PromptFormat {
  const layout = inferenceLayout(objective, architecture, registry);
  return resolvePromptFormat({ layout, objective: 'test', encoderDecoder: architecture === 'encoder-decoder', tokenizer, mode });
}

/** The first example (segment) of each of `count` training rows the objective makes for `architecture`. */
async function trainingExamples(objective: ObjectiveSpec, architecture: string, tokenizer: ByteTokenizer, count: number) {
  const documents = (await readSotu()).slice(0, 12).map((d) => tokenizer.encode(d.text));
  const context = { batchSize: 1, seqLen: 64, encoderLen: 64, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, architecture };
  const batcher = createObjectiveBatcher(objective, registry, context, createDocumentStream(documents, 5), 5);
  const examples = [];
  for (let i = 0; i < count; i++) {
    const batch: Batch = batcher.next();
    const length = batch.segmentIds.findIndex((s) => s !== batch.segmentIds[0]);
    const end = length < 0 ? batch.seqLen : length;
    const example = {
      tokens: Array.from(batch.tokens.subarray(0, end)),
      positions: Array.from(batch.positions.subarray(0, end)),
      blockPositions: batch.blockPositions && Array.from(batch.blockPositions.subarray(0, end)),
      prefixEnd: batch.prefixEnd[0],
      encoder: undefined as number[] | undefined,
    };
    if (batch.encoder) {
      const e = batch.encoder;
      const encoderEnd = e.segmentIds.findIndex((s) => s !== e.segmentIds[0]);
      example.encoder = Array.from(e.tokens.subarray(0, encoderEnd < 0 ? e.encoderLen : encoderEnd));
    }
    examples.push(example);
  }
  return examples;
}

describe('prompt layouts match the training examples of each objective', () => {
  it('prefixlm (decoder): input eos read bidirectionally, the answer after it', async () => {
    const objective = { name: 'prefixlm', config: {} };
    const tokenizer = tokenizerFor(objective);
    const format = formatFor(objective, 'decoder', tokenizer);
    for (const ex of await trainingExamples(objective, 'decoder', tokenizer, 4)) {
      const p = ex.prefixEnd;
      expect(ex.tokens[p - 1]).toBe(tokenizer.specialTokens.eos);
      const row = promptRow(format, ex.tokens.slice(0, p - 1), ex.tokens.slice(p));
      expect(row).toEqual({ tokens: ex.tokens, positions: ex.positions, prefixEnd: p });
    }
  });

  it('ul2 (decoder): the mode token leads the input, S2S by default; NLU inputs carry sentinels', async () => {
    const objective = { name: 'ul2', config: {} };
    const tokenizer = tokenizerFor(objective);
    const examples = await trainingExamples(objective, 'decoder', tokenizer, 24);
    for (const mode of ['S2S', 'NLU', 'NLG']) {
      const format = formatFor(objective, 'decoder', tokenizer, mode);
      expect(format.lead).toEqual([tokenizer.specialTokens[mode]]);
      const ofMode = examples.filter((ex) => ex.tokens[0] === tokenizer.specialTokens[mode]);
      expect(ofMode.length, `${mode} examples`).toBeGreaterThan(0);
      for (const ex of ofMode) {
        const p = ex.prefixEnd;
        const row = promptRow(format, ex.tokens.slice(1, p - 1), ex.tokens.slice(p));
        expect(row).toEqual({ tokens: ex.tokens, positions: ex.positions, prefixEnd: p });
      }
    }
    expect(formatFor(objective, 'decoder', tokenizer).lead).toEqual([tokenizer.specialTokens.S2S]);
  });

  it('glm with document blanks: Part A ends in [gMASK], the answer follows [sop] at its position, block positions 1, 2, ...', async () => {
    const objective = { name: 'glm', config: { preset: 'glm-10b', tokenRate: 0, sentenceRate: 0, documentRate: 1 } };
    const tokenizer = tokenizerFor(objective);
    const format = formatFor(objective, 'glm', tokenizer);
    expect(format.mask).toBe(tokenizer.specialTokens.gMASK);
    expect(format.stop).toBe(tokenizer.specialTokens.eop);
    for (const ex of await trainingExamples(objective, 'glm', tokenizer, 4)) {
      const p = ex.prefixEnd;
      expect(ex.tokens[p - 1]).toBe(tokenizer.specialTokens.gMASK);
      expect(ex.tokens[p]).toBe(tokenizer.specialTokens.sop);
      const row = promptRow(format, ex.tokens.slice(0, p - 1), ex.tokens.slice(p + 1));
      expect(row).toEqual({ tokens: ex.tokens, positions: ex.positions, blockPositions: ex.blockPositions, prefixEnd: p });
    }
    // The `glm` preset never blanks a whole suffix with [gMASK]: its models are prompted with the [MASK] they saw.
    expect(formatFor({ name: 'glm', config: {} }, 'glm', tokenizer).mask).toBe(tokenizer.specialTokens.MASK);
  });

  it('span-corruption (encoder-decoder): the encoder reads the input ended by eos, the decoder starts from pad', async () => {
    const objective = { name: 'span-corruption', config: {} };
    const tokenizer = tokenizerFor(objective);
    const format = formatFor(objective, 'encoder-decoder', tokenizer);
    for (const ex of await trainingExamples(objective, 'encoder-decoder', tokenizer, 4)) {
      const input = ex.encoder!;
      expect(input.at(-1)).toBe(tokenizer.specialTokens.eos);
      expect(ex.tokens[0]).toBe(tokenizer.specialTokens.pad);
      const row = promptRow(format, input.slice(0, -1), ex.tokens.slice(1));
      expect(row).toEqual({ tokens: ex.tokens, positions: ex.positions, prefixEnd: 0, encoder: input });
    }
  });

  it('unilm (decoder-only) is a cloze model: the answer so far is followed by the [MASK] whose logits predict the next token', () => {
    const objective = { name: 'unilm', config: {} };
    const tokenizer = tokenizerFor(objective);
    const format = formatFor(objective, 'unilm', tokenizer);
    const row = promptRow(format, [65, 66], [67]);
    const { eos, MASK } = tokenizer.specialTokens;
    expect(row).toEqual({ tokens: [65, 66, eos, 67, MASK], positions: [0, 1, 2, 3, 4], prefixEnd: 3 });
    // Its encoder-decoder form generates: the input-target layout.
    expect(formatFor(objective, 'encoder-decoder', tokenizer).layout.kind).toBe('input-target');
  });

  it('clm continues plain text causally; sclm on an encoder-decoder reads only eos in the encoder, as its causal half', () => {
    const clm = tokenizerFor({ name: 'clm', config: {} });
    expect(promptRow(formatFor({ name: 'clm', config: {} }, 'decoder', clm), [65, 66], [67])).toEqual({ tokens: [65, 66, 67], positions: [0, 1, 2], prefixEnd: 0 });
    const objective = { name: 'sclm', config: {} };
    const tokenizer = tokenizerFor(objective);
    const { eos, pad } = tokenizer.specialTokens;
    expect(promptRow(formatFor(objective, 'encoder-decoder', tokenizer), [65], [66])).toEqual({ tokens: [pad, 65, 66], positions: [0, 1, 2], prefixEnd: 0, encoder: [eos] });
  });

  it('a mode is refused for a model without mode tokens and an unknown mode names the known ones', () => {
    const clm = { name: 'clm', config: {} };
    expect(() => resolvePromptFormat({ layout: inferenceLayout(clm, 'decoder', registry), objective: 'clm', encoderDecoder: false, tokenizer: tokenizerFor(clm), mode: 'NLU' })).toThrow(
      'mode "NLU": this model was trained with clm, whose inputs carry no mode token (UL2 with modeTokens has NLU, NLG, S2S)',
    );
    const ul2 = { name: 'ul2', config: {} };
    expect(() => formatFor(ul2, 'decoder', tokenizerFor(ul2), 'XYZ')).toThrow('mode "XYZ": expected one of NLU, NLG, S2S');
    const withoutModes = { name: 'ul2', config: { modeTokens: false } };
    expect(() => formatFor(withoutModes, 'decoder', tokenizerFor(withoutModes), 'S2S')).toThrow('whose inputs carry no mode token');
    expect(formatFor(withoutModes, 'decoder', tokenizerFor(withoutModes)).lead).toEqual([]);
  });
});

describe('special tokens in prompts are deliberate', () => {
  const tokenizer = tokenizerFor({ name: 'span-corruption', config: {} });

  it('plain text is never read for special tokens: "<|extra_id_0|>" typed in a prompt stays its characters', () => {
    expect(encodePrompt(tokenizer, 'a <|extra_id_0|> b')).toEqual(Array.from(tokenizer.encode('a <|extra_id_0|> b')));
    expect(encodePrompt(tokenizer, 'a <|extra_id_0|> b')).not.toContain(tokenizer.specialTokens.extra_id_0);
  });

  it('segments name special tokens; markers are read only when asked for (--special)', () => {
    const segments = segmentsFromMarkedText('The <|extra_id_0|> of the <|extra_id_1|>.');
    expect(segments).toEqual([{ text: 'The ' }, { special: 'extra_id_0' }, { text: ' of the ' }, { special: 'extra_id_1' }, { text: '.' }]);
    const ids = encodePrompt(tokenizer, segments);
    expect(ids).toEqual([...tokenizer.encode('The '), tokenizer.specialTokens.extra_id_0, ...tokenizer.encode(' of the '), tokenizer.specialTokens.extra_id_1, ...tokenizer.encode('.')]);
  });

  it('an unknown special token is refused, naming the segment', () => {
    expect(() => encodePrompt(tokenizer, [{ text: 'x' }, { special: 'gMASK' }])).toThrow('prompt[1]: unknown special token "gMASK"; this model\'s tokenizer has eos, pad,');
  });
});

describe('the context window', () => {
  const tokenizer = tokenizerFor({ name: 'prefixlm', config: {} });
  const format = formatFor({ name: 'prefixlm', config: {} }, 'decoder', tokenizer);

  it('crops a long prompt from the left; when the answer outgrows the context the last tokens, half a context, become the new input', () => {
    const seqLen = 16;
    const prompt = Array.from({ length: 30 }, (_, i) => 65 + (i % 26));
    const window = new ContextWindow(format, prompt, seqLen);
    // input (prompt's last 15) + eos fills the context.
    expect(window.row()).toEqual(promptRow(format, prompt.slice(-15), []));
    const generated: number[] = [];
    for (let i = 0; i < 20; i++) {
      const row = window.row();
      expect(row.tokens.length).toBeLessThanOrEqual(seqLen);
      generated.push(97 + i);
      window.push(97 + i);
    }
    expect(window.generated()).toEqual(generated);
    // The first token overflowed the full context: the window moved to the last 7 tokens (+ eos = 8 = seqLen / 2) as input.
    // Later moves happen each time the answer fills the rest.
    const text = [...prompt, ...generated];
    const row = window.row();
    const input = row.tokens.slice(0, row.prefixEnd - 1);
    const answer = row.tokens.slice(row.prefixEnd);
    expect([...input, ...answer]).toEqual(text.slice(text.length - input.length - answer.length));
    expect(input.length).toBe(7);
    expect(rowBatch(row).prefixEnd.every((p) => p === row.prefixEnd)).toBe(true);
  });

  it('refuses a context too short for the layout', () => {
    const glmTokenizer = tokenizerFor({ name: 'glm', config: {} });
    const glm = formatFor({ name: 'glm', config: {} }, 'glm', glmTokenizer);
    expect(() => new ContextWindow(glm, [65], 1)).toThrow('a context of 1 tokens is too short for this model\'s prompt layout (blank-infilling)');
  });
});
