import type { DocumentStream } from '@unilab/core';

/**
 * Reads a document stream piece by piece: an objective takes as many tokens of the current document as fit and the
 * rest is carried over to the next row (or the next batch). The carry-over is described by the stream cursor of the
 * current document plus an offset into it, so a checkpoint stays small and a restored reader re-reads the same
 * document from the stream instead of storing its tokens.
 */
export interface DocumentReaderState {
  /** Stream cursor from which the current document is read again on restore (or the next one, if none is loaded). */
  documentCursor: unknown;
  /** Tokens of the current document already used. */
  offset: number;
  /** Whether a document is loaded (false before the first read). */
  loaded: boolean;
  /** Empty documents passed over so far (they carry no tokens to train on). */
  skippedEmptyDocuments: number;
}

export interface DocumentReader {
  /** The unused rest of the current document; reads the next document when the current one is used up. Never empty. */
  rest(): Int32Array;
  /** Marks the first `count` tokens of rest() as used. */
  consume(count: number): void;
  state(): DocumentReaderState;
  restore(state: DocumentReaderState): void;
}

/** A stream made only of empty documents would otherwise make rest() spin forever. */
const MAX_CONSECUTIVE_EMPTY_DOCUMENTS = 100_000;

export function createDocumentReader(stream: DocumentStream): DocumentReader {
  let documentCursor: unknown = stream.cursor();
  let current: Int32Array | null = null;
  let offset = 0;
  let skippedEmptyDocuments = 0;

  function loadNext(): Int32Array {
    for (let attempt = 0; attempt < MAX_CONSECUTIVE_EMPTY_DOCUMENTS; attempt++) {
      documentCursor = stream.cursor();
      const tokens = stream.next().tokens;
      if (tokens.length > 0) return tokens;
      skippedEmptyDocuments++;
    }
    throw new Error(`document stream: ${MAX_CONSECUTIVE_EMPTY_DOCUMENTS} empty documents in a row; the corpus has no tokens`);
  }

  return {
    rest() {
      if (current === null || offset >= current.length) {
        current = loadNext();
        offset = 0;
      }
      return current.subarray(offset);
    },
    consume(count) {
      if (current === null || count < 0 || offset + count > current.length)
        throw new Error(`document reader: cannot consume ${count} tokens, ${current ? current.length - offset : 0} left`);
      offset += count;
    },
    state() {
      const loaded = current !== null && offset < current.length;
      return {
        documentCursor: loaded ? documentCursor : stream.cursor(),
        offset: loaded ? offset : 0,
        loaded,
        skippedEmptyDocuments,
      };
    },
    restore(state) {
      stream.seek(state.documentCursor);
      documentCursor = state.documentCursor;
      current = state.loaded ? stream.next().tokens : null;
      offset = state.offset;
      skippedEmptyDocuments = state.skippedEmptyDocuments;
    },
  };
}
