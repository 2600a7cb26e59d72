import { createWasmMinhashSigner, type MinhashSigner } from '@unilab/core';
import { minhashSignature, shingleHashes, WORD_CHARACTER } from './minhash.ts';

/**
 * The two ways to compute a document's MinHash signature over its lower-cased word n-gram shingles, with the same
 * results bit for bit: the wasm kernel (kernels-rs/src/minhash.rs, through libs/core's signer; the default, ~7x the
 * stage's throughput, docs/PERFORMANCE.md) and the TypeScript reference (minhash.ts), which needs no shared memory
 * and so runs where wasm threads do not (a browser page without cross-origin isolation).
 */
export type MinhashHashing = 'wasm' | 'typescript';

export function typescriptMinhashSigner(shingleSize: number, seeds: Uint32Array): MinhashSigner {
  return {
    hashes: seeds.length,
    signature: (text, out) => minhashSignature(shingleHashes(text, shingleSize), seeds, out),
  };
}

export async function wasmMinhashSigner(shingleSize: number, seeds: Uint32Array): Promise<MinhashSigner> {
  const signer = await createWasmMinhashSigner({ wordCharacter: WORD_CHARACTER, shingleSize, seeds }).catch((err: unknown) => {
    throw new Error(`minhash-dedup: cannot compute signatures with the wasm kernels (${(err as Error).message}); "hashing": "typescript" computes the same signatures without them`, {
      cause: err,
    });
  });
  return {
    hashes: signer.hashes,
    // normalizedWords' lower-casing, so the kernel sees the text the reference splits into words.
    signature: (text, out) => signer.signature(text.toLowerCase(), out),
  };
}

export async function createMinhashSigner(hashing: MinhashHashing, shingleSize: number, seeds: Uint32Array): Promise<MinhashSigner> {
  return hashing === 'wasm' ? wasmMinhashSigner(shingleSize, seeds) : typescriptMinhashSigner(shingleSize, seeds);
}
