import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng } from '@unilab/core';
import { BpeTokenizer, ByteTokenizer, PieceCounter, readBrown, tokenizerFromJSON, trainBpe } from '../src/index.ts';

const brown = (await readBrown()).slice(0, 120);
const counter = new PieceCounter();
for (const d of brown) counter.add(d.text);
const tokenizer = trainBpe(counter, { vocabSize: 2048, specialTokens: ['MASK', 'extra_id_0'] });

describe('byte-level BPE', () => {
  it('reserves eos, pad and the objectives special tokens right after the 256 bytes', () => {
    expect(tokenizer.vocabSize).toBe(2048);
    expect(tokenizer.specialTokens).toEqual({ eos: 256, pad: 257, MASK: 258, extra_id_0: 259 });
  });

  it('compresses English: more than 2.8 bytes per token on held-out Brown text at a 2,048 vocabulary', async () => {
    const heldOut = (await readBrown()).slice(400, 420).map((d) => d.text).join('\n');
    const bytes = new TextEncoder().encode(heldOut).length;
    expect(bytes / tokenizer.encode(heldOut).length).toBeGreaterThan(2.8);
  });

  it('round-trips arbitrary bytes exactly, including invalid UTF-8', () => {
    const rng = new Rng(42);
    for (let trial = 0; trial < 200; trial++) {
      const bytes = Uint8Array.from({ length: rng.int(300) }, () => (rng.uniform() < 0.5 ? 32 + rng.int(95) : rng.int(256)));
      const ids = tokenizer.encodeBytes(bytes);
      for (const id of ids) expect(id === 256 || id === 257 || id === 258 || id === 259).toBe(false);
      expect(tokenizer.decodeBytes(ids)).toEqual(bytes);
    }
  });

  it('round-trips any text, never produces a special token from text, and handles a 200 KB piece', () => {
    const texts = ['', ' ', 'Hello, world!', 'naïve café 東京 🤖 \u0000 \r\n\t', '<|eos|> <|pad|> are just text', "It's 12,345.67 — isn't it?"];
    for (const t of texts) {
      const ids = tokenizer.encode(t);
      expect(Array.from(ids).some((id) => id >= 256 && id < 260)).toBe(false);
      expect(tokenizer.decode(ids)).toBe(t);
    }
    const long = 'abcdefghij'.repeat(20_000);
    const ids = tokenizer.encode(long);
    expect(tokenizer.decode(ids)).toBe(long);
    // The heap path for long pieces merges exactly as the scan for short ones.
    expect(Array.from(tokenizer.encode('abcdefghij'.repeat(4)))).toEqual(Array.from(ids.subarray(0, tokenizer.encode('abcdefghij'.repeat(4)).length)));
  });

  it('saves as a Hugging Face tokenizer.json and loads back to identical encodings', () => {
    const json = JSON.parse(JSON.stringify(tokenizer.toJSON())) as Record<string, any>;
    expect(json.model.type).toBe('BPE');
    expect(json.pre_tokenizer).toMatchObject({ type: 'ByteLevel', use_regex: true });
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.model.unk_token).toBeNull();
    expect(json.added_tokens[0]).toMatchObject({ id: 256, content: '<|eos|>', special: true });
    expect(json.model.vocab['Ġthe']).toBeGreaterThan(259);
    const loaded = tokenizerFromJSON(json);
    expect(loaded).toBeInstanceOf(BpeTokenizer);
    expect(loaded.specialTokens).toEqual(tokenizer.specialTokens);
    const text = brown[5].text.slice(0, 5000);
    expect(Array.from(loaded.encode(text))).toEqual(Array.from(tokenizer.encode(text)));
    // Merges written as "a b" strings (older tokenizer.json files) load too.
    json.model.merges = json.model.merges.map((m: string[]) => m.join(' '));
    expect(Array.from(tokenizerFromJSON(json).encode(text))).toEqual(Array.from(tokenizer.encode(text)));
  });

  it('refuses a tokenizer.json whose vocabulary disagrees with its merges, naming an entry', () => {
    const json = JSON.parse(JSON.stringify(tokenizer.toJSON())) as Record<string, any>;
    json.model.vocab['Ġthe'] = 300;
    expect(() => tokenizerFromJSON(json)).toThrow(/tokenizer.json: vocab entry .* has id \d+, but the merges give that id to/);
  });

  it('tokenizerFromJSON also restores the byte tokenizer of older checkpoints', () => {
    const restored = tokenizerFromJSON(new ByteTokenizer(['MASK']).toJSON());
    expect(restored.kind).toBe('byte');
    expect(restored.specialTokens.MASK).toBe(258);
  });

  it('is deterministic: training twice gives the same merges', () => {
    const again = trainBpe(counter, { vocabSize: 2048, specialTokens: ['MASK', 'extra_id_0'] });
    expect(again.vocabulary.merges).toEqual(tokenizer.vocabulary.merges);
  });

  it('encodes identically under Deno', () => {
    const deno = resolve(__dirname, '../../../node_modules/.bin/deno');
    expect(existsSync(deno), 'deno is a devDependency of the workspace').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'unilab-tok-'));
    const path = join(dir, 'tokenizer.json');
    writeFileSync(path, JSON.stringify(tokenizer.toJSON()));
    const text = 'Fellow citizens, the naïve café 東京 🤖 costs $12.50!';
    const out = execFileSync(deno, ['run', '--allow-read', resolve(__dirname, 'fixtures/deno-encode.ts'), path, text], { encoding: 'utf8' });
    const parsed = JSON.parse(out.trim().split('\n').pop()!) as { runtime: string; ids: number[] };
    expect(parsed.runtime).toBe('object');
    expect(parsed.ids).toEqual(Array.from(tokenizer.encode(text)));
  });
});
