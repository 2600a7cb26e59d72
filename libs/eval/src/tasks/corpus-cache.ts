import { readBrown, readSotu, type TextDocument } from '@unilab/data';

/**
 * The bundled corpora, read once per process: a suite builds several tasks from the same corpus, and a sweep
 * evaluates many checkpoints. The documents are frozen so no task can change another's text.
 */
const cache = new Map<string, Promise<readonly TextDocument[]>>();

function cached(name: string, read: () => Promise<TextDocument[]>): Promise<readonly TextDocument[]> {
  let docs = cache.get(name);
  if (!docs) {
    docs = read().then((all) => Object.freeze(all.map((d) => Object.freeze(d))));
    docs.catch(() => cache.delete(name));
    cache.set(name, docs);
  }
  return docs;
}

export const brownDocuments = () => cached('brown', readBrown);
export const sotuDocuments = () => cached('sotu', readSotu);
