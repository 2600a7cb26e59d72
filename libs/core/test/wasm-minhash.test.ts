import { describe, expect, it } from 'vitest';
import { createWasmMinhashSigner } from '../src/index.ts';

// The signer's contract on bad input. Its signatures are checked bit for bit against the TypeScript reference on the
// bundled corpora in libs/data/test/minhash-wasm.test.ts (the reference and the corpora live in libs/data).

const options = { wordCharacter: /[\p{L}\p{N}\p{M}]/u, shingleSize: 5, seeds: new Uint32Array([1, 2, 3]) };

describe('wasm MinHash signer', () => {
  it('refuses options that name the bad value and what would be right', async () => {
    await expect(createWasmMinhashSigner({ ...options, wordCharacter: /[a-z]/ })).rejects.toThrow(/wordCharacter must be a RegExp with the u or v flag.*\/\[a-z\]\//);
    await expect(createWasmMinhashSigner({ ...options, wordCharacter: /[a-z]/gu })).rejects.toThrow(/without g or y, got \/\[a-z\]\/gu/);
    await expect(createWasmMinhashSigner({ ...options, shingleSize: 0 })).rejects.toThrow('shingleSize must be an integer >= 1, got 0');
    await expect(createWasmMinhashSigner({ ...options, seeds: new Uint32Array(0) })).rejects.toThrow('seeds must be a non-empty Uint32Array');
    const signer = await createWasmMinhashSigner(options);
    expect(() => signer.signature('some text', new Uint32Array(2))).toThrow('out holds 2 values, the signature has 3');
  });

  it('splits words by the given class: texts that differ only outside words sign alike, a changed word changes the signature', async () => {
    const signer = await createWasmMinhashSigner({ ...options, shingleSize: 2 });
    const a = signer.signature('über die brücke, 2 mal');
    expect(signer.signature('  über—die…brücke 2\u00a0mal!')).toEqual(a);
    expect(signer.signature('über die brücke, 3 mal')).not.toEqual(a);
    const lettersOnly = await createWasmMinhashSigner({ ...options, wordCharacter: /\p{L}/u, shingleSize: 2 });
    expect(lettersOnly.signature('über die brücke, 2 mal')).toEqual(lettersOnly.signature('über die brücke, 3 mal'));
  });
});
