import type { Schema } from '../config/schema.ts';

/** A raw text document as it flows through the data pipeline, before tokenization. */
export interface PipelineDocument {
  /** Stable identifier: file and line, or a corpus name and file. Reports and dedup clusters name it. */
  readonly id: string;
  /** The pipeline source it came from (mixtures weigh sources). */
  readonly source: string;
  readonly text: string;
  /** ISO 639-1 code set by a language-identification stage; later stages may route or filter on it. */
  readonly language?: string;
}

/**
 * What a stage decides for one document: keep it (possibly rewritten, as C4 drops lines) or drop it with a short,
 * stable reason (`"gopher:short_doc"`); the pipeline counts kept and dropped documents per stage and per reason.
 */
export type StageDecision = { keep: true; document?: PipelineDocument } | { keep: false; reason: string };

/** A configured stage: it sees every document once, in pipeline order (dedup stages keep state across documents). */
export interface DataStage {
  process(document: PipelineDocument): StageDecision | Promise<StageDecision>;
  /** Extra figures for the end-of-run report (clusters found, perplexity cut-offs). */
  summary?(): Record<string, number | string>;
}

/**
 * A data stage is a plain object (seqio preprocessor, Vite plugin): a name, a config schema and a factory. Creating
 * it may load a model (language ID, a reference n-gram model); nothing happens on import.
 */
export interface DataStagePlugin<C = Record<string, unknown>> {
  readonly kind: 'data-stage';
  readonly name: string;
  readonly description: string;
  readonly configSchema: Schema<C>;
  /** Document fields the stage sets on every document it keeps: a mixture that routes on a field needs such a stage. */
  readonly labels?: readonly 'language'[];
  create(config: C): Promise<DataStage>;
}
