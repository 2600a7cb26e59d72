import type { DocumentStream, TokenDocument } from '@unilab/core';
import { Rng } from '@unilab/core';

interface StreamCursor {
  epoch: number;
  index: number;
}

/**
 * An endless stream over tokenized documents: each epoch visits every document once in an order shuffled by
 * (seed, epoch). The cursor is just {epoch, index}, so resuming needs no RNG state.
 */
export function createDocumentStream(documents: readonly Int32Array[], seed: number): DocumentStream {
  if (documents.length === 0) throw new Error('document stream: no documents');
  let cursor: StreamCursor = { epoch: 0, index: 0 };
  let order = shuffledOrder(documents.length, seed, 0);
  return {
    next(): TokenDocument {
      if (cursor.index >= order.length) {
        cursor = { epoch: cursor.epoch + 1, index: 0 };
        order = shuffledOrder(documents.length, seed, cursor.epoch);
      }
      return { tokens: documents[order[cursor.index++]] };
    },
    cursor: () => ({ ...cursor }),
    seek(c: unknown) {
      const { epoch, index } = c as StreamCursor;
      if (!Number.isInteger(epoch) || !Number.isInteger(index) || index < 0 || index > documents.length)
        throw new Error(`document stream: invalid cursor ${JSON.stringify(c)}`);
      cursor = { epoch, index };
      order = shuffledOrder(documents.length, seed, epoch);
    },
  };
}

function shuffledOrder(n: number, seed: number, epoch: number): number[] {
  return new Rng((seed * 1000003 + epoch * 7919) >>> 0).shuffle(Array.from({ length: n }, (_, i) => i));
}
