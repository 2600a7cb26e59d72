export { ByteTokenizer } from './tokenizer/byte-tokenizer.ts';
export type { TextDocument } from './sources/document.ts';
export { readCorpus, BUNDLED_CORPORA } from './sources/corpus.ts';
export { readSotu } from './sources/sotu.ts';
export { readBrown, untagBrown } from './sources/brown.ts';
export { readTextFiles } from './sources/text-files.ts';
export { splitHeldOut, fnv1a } from './split.ts';
export { createDocumentStream } from './document-stream.ts';
export { unigramEntropy } from './unigram.ts';
