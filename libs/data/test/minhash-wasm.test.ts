import { describe, expect, it } from 'vitest';
import { createWasmMinhashSigner, loadWasmKernels, type MinhashSigner } from '@unilab/core';
import { BUNDLED_SOURCES, readBundled } from '../src/index.ts';
import { minhashSeeds, normalizedWords, shingleHashes, WORD_CHARACTER } from '../src/dedup/minhash.ts';
import { typescriptMinhashSigner, wasmMinhashSigner } from '../src/dedup/minhash-signers.ts';

/** Every document of the bundled corpora: English prose, 15 Brown genres, the UDHR in every complete translation. */
async function bundledTexts(): Promise<{ id: string; text: string }[]> {
  const out: { id: string; text: string }[] = [];
  for (const corpus of BUNDLED_SOURCES)
    for await (const item of readBundled(corpus, corpus)) if ('document' in item) out.push({ id: item.document.id, text: item.document.text });
  return out;
}

/** Texts at the edges of the kernel's three passes: word boundaries, surrogates, shingle and seed-block tails. */
const edgeCases: Record<string, string> = {
  empty: '',
  'only spaces': ' \n\t  ',
  'only punctuation': '!?… — «»',
  'one word': 'word',
  'four words (shorter than a 5-gram)': 'the cat sat down',
  'five words (one full shingle)': 'the cat sat down quietly',
  'eight words (one vector of shingles)': 'one two three four five six seven eight',
  'nine words (a vector and a tail)': 'one two three four five six seven eight nine',
  'case and punctuation': 'The CAT, the cat; THE Cat!',
  'German sharp s and umlauts': 'Straße ÜBER Größe straße über größe',
  'Greek final sigma': 'ΟΔΟΣ ΟΔΟΣ ΚΑΙ ΟΔΟΣ',
  'Turkish dotted capital I (lower-cases to two code units)': 'İSTANBUL İzmir',
  'Devanagari with combining marks': 'सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है',
  'Chinese (no spaces: one word per run)': '人人生而自由，在尊严和权利上一律平等。',
  'Arabic and its digits': 'يولد جميع الناس أحراراً ١٢٣ ٤٥٦',
  'Thai': 'เราทุกคนเกิดมาอย่างอิสระ',
  'astral letters (surrogate pairs inside words)': '𐐀𐐁 𐐂𐐃 𝐀𝐁𝐂 ab𝐀cd 𐌰𐌱𐌲 𐐀𐐁',
  'emoji (astral non-letters between words)': 'a😀b c🎉d 😀😀 e',
  'lone high surrogate inside a word': 'abc\ud800def ghi',
  'lone low surrogate inside a word': 'abc\udc00def ghi',
  'lone surrogate at the end': 'word word\ud83d',
  'reversed pair (two lone surrogates)': 'x\udc00\ud800y',
  'two low surrogates': 'x\udc00\udc00y z',
  'two high surrogates, then a pair': 'x\ud800\ud800\udc00y',
  'zero-width joiner and non-breaking space': 'a\u200db\u00a0c d\u2003e',
  'digits and letters of other scripts': '123 ٤٥٦ ⅣⅤ ½ x²',
};

/** (shingle size, hashes): the default, and sizes that leave tails in the kernel's 4-shingle and 16/4/1-seed blocks. */
const settings = [
  { n: 5, k: 112 },
  { n: 1, k: 23 },
  { n: 3, k: 7 },
  { n: 9, k: 130 },
];

describe('MinHash signatures: the wasm kernel against the TypeScript reference', () => {
  it('are equal bit for bit on every bundled document (sotu, brown, udhr in every language) at the default 5-grams x 112, in both builds', async () => {
    const docs = await bundledTexts();
    expect(docs.filter((d) => d.id.startsWith('udhr/')).length).toBeGreaterThan(300);
    const seeds = minhashSeeds(112, 0x5eed);
    const reference = typescriptMinhashSigner(5, seeds);
    const expected = docs.map((d) => reference.signature(d.text));
    for (const [build, wasm] of [
      ['default', await wasmMinhashSigner(5, seeds)],
      ['simd128', await simd128Signer(5, seeds)],
    ] as const) {
      const differing = docs.filter((d, i) => !equal(wasm.signature(d.text), expected[i])).map((d) => d.id);
      expect(differing, build).toEqual([]);
    }
  });

  it('are equal on a sample of real documents at shingle sizes and hash counts that leave tails', async () => {
    const docs = (await bundledTexts()).filter((_, i) => i % 25 === 0);
    for (const { n, k } of settings) {
      const seeds = minhashSeeds(k, 0x1234 + n);
      const reference = typescriptMinhashSigner(n, seeds);
      const wasm = await wasmMinhashSigner(n, seeds);
      const differing = docs.filter((d) => !equal(wasm.signature(d.text), reference.signature(d.text))).map((d) => d.id);
      expect(differing, `n ${n}, k ${k}`).toEqual([]);
    }
  });

  it('are equal on edge cases: empty and shorter-than-a-shingle texts, non-ASCII scripts, surrogate pairs and lone surrogates', async () => {
    for (const { n, k } of settings) {
      const seeds = minhashSeeds(k, 99);
      const reference = typescriptMinhashSigner(n, seeds);
      const wasm = await wasmMinhashSigner(n, seeds);
      for (const [name, text] of Object.entries(edgeCases)) expect([...wasm.signature(text)], `${name}, n ${n}, k ${k}`).toEqual([...reference.signature(text)]);
    }
    // The cases do reach the paths they name: a text without words is one shingle, like a text of fewer than n words.
    expect(normalizedWords(edgeCases['only punctuation'])).toEqual([]);
    expect(shingleHashes(edgeCases.empty, 5)).toEqual(shingleHashes(edgeCases['only spaces'], 5));
    expect(normalizedWords(edgeCases['astral letters (surrogate pairs inside words)'])).toHaveLength(6);
    expect(normalizedWords(edgeCases['lone high surrogate inside a word'])).toEqual(['abc', 'def', 'ghi']);
  });

  it('do not depend on the documents signed before (the kernel scratch grows and is reused)', async () => {
    const seeds = minhashSeeds(112, 1);
    const wasm = await wasmMinhashSigner(5, seeds);
    const docs = await bundledTexts();
    const short = docs.find((d) => d.id.startsWith('udhr/'))!.text;
    const first = wasm.signature(short).slice();
    const longest = docs.reduce((a, b) => (b.text.length > a.text.length ? b : a));
    wasm.signature(longest.text.repeat(4));
    expect(wasm.signature(short)).toEqual(first);
  });
});

/** The stage's signer on the SIMD128 build (the default is the relaxed-SIMD build where the engine validates it). */
async function simd128Signer(shingleSize: number, seeds: Uint32Array): Promise<MinhashSigner> {
  const signer = await createWasmMinhashSigner({ wordCharacter: WORD_CHARACTER, shingleSize, seeds }, await loadWasmKernels('simd128'));
  return { hashes: signer.hashes, signature: (text, out) => signer.signature(text.toLowerCase(), out) };
}

function equal(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
