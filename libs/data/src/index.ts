export { ByteTokenizer } from './tokenizer/byte-tokenizer.ts';
export type { TextDocument } from './sources/document.ts';
export { readCorpus, readCorpusText, BUNDLED_CORPORA } from './sources/corpus.ts';
export { readSotu } from './sources/sotu.ts';
export { readBrown, untagBrown } from './sources/brown.ts';
export { readTextFiles, CORPUS_PIECE_BYTES, DEFAULT_MAX_DOCUMENT_BYTES, type CorpusText, type CorpusReadOptions } from './sources/text-files.ts';
export { splitHeldOut, fnv1a } from './split.ts';
export { createDocumentStream } from './document-stream.ts';
export { unigramEntropy, entropyOfCounts } from './unigram.ts';

export type { ReadItem, ReadProblem } from './readers/read-item.ts';
export { readFiles, type FileReaderOptions, type TextSplit } from './readers/text-files.ts';
export { isBlankText } from './text/blank-text.ts';
export { readBundled, BUNDLED_SOURCES, type BundledSource } from './readers/bundled.ts';
export { readUdhr, udhrIndex, htmlParagraphs, type UdhrText } from './readers/udhr.ts';

export { dataStagePlugins } from './stages/data-stages.ts';
export { eldLanguageStage, loadEld, foreignLetterShare } from './stages/language-id-eld.ts';
export { fasttextLanguageStage, loadFasttextLid } from './stages/language-id-fasttext.ts';
export { gopherQualityStage, gopherQualityReason } from './quality/gopher-quality.ts';
export { gopherRepetitionStage, gopherRepetitionReason } from './quality/gopher-repetition.ts';
export { c4QualityStage, c4Clean } from './quality/c4-quality.ts';
export { finewebQualityStage, finewebQualityReason } from './quality/fineweb-quality.ts';
export { perplexityFilterStage } from './quality/perplexity-filter.ts';
export { trainByteNgramModel, type ByteNgramModel } from './quality/byte-ngram-model.ts';
export { exactDedupStage } from './dedup/exact-dedup.ts';
export { minhashDedupStage, createNearDuplicateIndex } from './dedup/minhash-dedup.ts';
export { minhashSeeds } from './dedup/minhash.ts';
export { createMinhashSigner, type MinhashHashing } from './dedup/minhash-signers.ts';

export { BpeTokenizer, specialContent, type BpeVocabulary } from './tokenizer/bpe-tokenizer.ts';
export { trainBpe, PieceCounter, type BpeTrainingOptions } from './tokenizer/bpe-trainer.ts';
export { tokenizerFromJSON } from './tokenizer/tokenizer-from-json.ts';
export { HfByteLevelBpeTokenizer } from './tokenizer/hf-byte-level-bpe.ts';

export { SequencePacker, positionDocumentIds, type PackedShard } from './pack/sequence-packer.ts';
export { planMixture, MixtureInterleaver, type MixtureSource, type MixturePlan } from './pack/mixture.ts';
export type { ShardIndex, ShardEntry, SourceShare, TokenDtype } from './pack/shard-format.ts';
export { readShardDataset, readShardIndex, readShardTokens, readShardTokenizer, type ShardDataset } from './pack/shard-reader.ts';
export { openStreamedShardDataset, DEFAULT_READ_BYTES, type StreamedShardDataset } from './pack/streamed-shard-dataset.ts';
export { createShardDocumentStream, type ShardDocumentStream, type ShardStreamOptions } from './pack/shard-stream.ts';
export { scanShards, isHeldOut, type ShardScan, type HoldOutRule, type SplitCount } from './pack/shard-scan.ts';

export { parsePipelineSpec, type PipelineSpec, type PipelineStageSpec, type PipelineSourceSpec } from './pipeline/pipeline-spec.ts';
export { routeDocument, type MixtureComponentSpec, type MixtureMember } from './pipeline/mixture-components.ts';
export { runPipeline, type PipelineReport, type ProgressUpdate, type PipelineEvents, type SourceReport } from './pipeline/run-pipeline.ts';
export { megabytesPerSecond, type StageStats } from './pipeline/stage-stats.ts';
export { writeFileAtomic } from './pack/atomic-write.ts';
