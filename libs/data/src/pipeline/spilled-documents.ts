import { readFiles } from '../readers/text-files.ts';

/** The documents a pipeline phase spilled to JSONL (filtered-<member>.jsonl), read back in order. */
export async function* spilledDocuments(path: string): AsyncGenerator<{ id: string; text: string }> {
  for await (const item of readFiles(path, { source: 'spill', format: 'jsonl', maxDocumentBytes: Number.MAX_SAFE_INTEGER })) {
    if ('document' in item) yield item.document;
  }
}
