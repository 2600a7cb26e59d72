import { describe, expect, it } from 'vitest';
import { PieceCounter, readBrown, tokenizerFromJSON, trainBpe } from '../src/index.ts';

const brown = (await readBrown()).slice(0, 40);
const counter = new PieceCounter();
for (const d of brown) counter.add(d.text);
const own = trainBpe(counter, { vocabSize: 600, specialTokens: [] });
const held = (await readBrown()).slice(300, 303).map((d) => d.text).join('\n');

/**
 * The same vocabulary renumbered the way Hugging Face's ByteLevelBPETokenizer lays it out: special tokens first
 * (<s>, <pad>, </s> at 0..2), every other token shifted after them, and one special added at the end, with merges as
 * "a b" strings. The unilab layout's own eos/pad (256, 257) are dropped.
 */
function huggingFaceLayout(): { json: Record<string, any>; outerOf: (id: number) => number } {
  const json = JSON.parse(JSON.stringify(own.toJSON())) as Record<string, any>;
  const outerOf = (id: number) => (id < 256 ? id + 3 : id - 2 + 3);
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2 };
  for (const [s, id] of Object.entries(json.model.vocab as Record<string, number>)) if (id !== 256 && id !== 257) vocab[s] = outerOf(id);
  const size = Object.keys(vocab).length;
  json.model.vocab = vocab;
  json.model.merges = (json.model.merges as [string, string][]).map(([l, r]) => `${l} ${r}`);
  json.added_tokens = [
    ...['<s>', '<pad>', '</s>'].map((content, id) => ({ id, content, special: true, normalized: false })),
    { id: size, content: '<|user|>', special: true, normalized: false },
  ];
  return { json, outerOf };
}

describe('byte-level BPE tokenizer.json in any id layout', () => {
  it('encodes as the same merges in unilab\'s layout, renamed; decodes back; finds eos and pad by spelling', () => {
    const { json, outerOf } = huggingFaceLayout();
    const hf = tokenizerFromJSON(json);
    expect(hf.constructor.name).toBe('HfByteLevelBpeTokenizer');
    const ids = hf.encode(held);
    expect(Array.from(ids)).toEqual(Array.from(own.encode(held)).map(outerOf));
    expect(hf.decode(ids)).toBe(held);
    expect(hf.specialTokens).toMatchObject({ eos: 2, pad: 1, '<s>': 0, user: own.vocabSize - 2 + 3 });
    expect(hf.vocabSize).toBe(own.vocabSize - 2 + 4);
    // Merges as [a, b] pairs read the same; toJSON gives the file back unchanged (checkpoints store it).
    const pairs = { ...json, model: { ...json.model, merges: json.model.merges.map((m: string) => m.split(' ')) } };
    expect(Array.from(tokenizerFromJSON(pairs).encode(held))).toEqual(Array.from(ids));
    expect(hf.toJSON()).toBe(json);
  });

  it('refuses what it cannot reproduce, naming the field', () => {
    const edit = (change: (j: Record<string, any>) => void) => {
      const { json } = huggingFaceLayout();
      change(json);
      return () => tokenizerFromJSON(json);
    };
    expect(edit((j) => (j.added_tokens[3].special = false))).toThrow(/added token "<\|user\|>" \(id \d+\) is not special: tokenizers matches such tokens inside plain text/);
    expect(edit((j) => (j.pre_tokenizer.add_prefix_space = true))).toThrow(/pre_tokenizer.add_prefix_space true is not supported/);
    expect(edit((j) => (j.normalizer = { type: 'Lowercase' }))).toThrow(/normalizer "Lowercase" is not supported/);
    expect(edit((j) => j.model.merges.splice(0, 1))).toThrow(/model.merges\[\d+\]: ".*" is neither a byte nor made by an earlier merge/);
    expect(edit((j) => delete j.model.vocab['Ā'])).toThrow(/byte 0 \("Ā"\) is not in model.vocab/);
    expect(edit((j) => (j.model.vocab['Ġthe'] = 5))).toThrow(/model.vocab gives id 5 to two tokens|merge result "Ġthe"/);
    expect(edit((j) => (j.added_tokens = j.added_tokens.filter((t: { content: string }) => t.content !== '</s>')))).toThrow(
      /no end-of-text token among the added tokens/,
    );
    expect(edit((j) => (j.model.merges[3] = 'a b c'))).toThrow(/model.merges\[3\] is not a pair/);
  });
});
