import {
  SpecError,
  arrayOf,
  field,
  integer,
  json,
  number,
  object,
  oneOf,
  optional,
  string,
  type DataStagePlugin,
} from '@unilab/core';
import { BUNDLED_SOURCES } from '../readers/bundled.ts';
import { validateComponents } from './mixture-components.ts';

/**
 * The pipeline file of `unilab data`: sources (bundled npm corpora or files), an ordered list of stages, the
 * tokenizer, packing and the mixture. Validated at the edge; an error names the field by its path from the root
 * (`pipeline.stages[2].config.minWords: expected an integer >= 0, got -1`).
 */
const sourceSchema = object({
  name: field(string({ nonEmpty: true })),
  /** A bundled corpus: "sotu", "brown" or "udhr". */
  corpus: optional(oneOf(BUNDLED_SOURCES)),
  /** Or a file / directory of .txt, .jsonl (optionally .gz) files. */
  path: optional(string({ nonEmpty: true })),
  format: field(oneOf(['txt', 'jsonl'] as const), 'txt'),
  /** .txt: one document per file, per line, per blank-line-separated paragraph, or per marker-separated block. */
  split: field(oneOf(['whole', 'line', 'blank-line', 'marker'] as const), 'whole'),
  marker: optional(string({ nonEmpty: true })),
  /** .jsonl: the field holding the text. */
  textField: field(string({ nonEmpty: true }), 'text'),
  /** Mixture weight (normalised over the sources); mixture.components, when given, set the weights instead. */
  weight: field(number({ min: 0 }), 1),
});

const stageEntrySchema = object({
  stage: field(string({ nonEmpty: true })),
  config: field(json(), {}),
  /** Apply the stage to these sources only (default: all). */
  sources: optional(arrayOf(string({ nonEmpty: true }))),
});

const tokenizerSchema = object({
  /** Train a byte-level BPE tokenizer of this total vocabulary size on the filtered text... */
  vocabSize: optional(integer({ min: 258, max: 1 << 21 })),
  /** ...or use an existing tokenizer.json. */
  path: optional(string({ nonEmpty: true })),
  /** Special tokens to reserve beyond eos and pad. */
  specialTokens: field(arrayOf(string({ nonEmpty: true })), [] as string[]),
  /** Objectives whose special tokens to reserve (e.g. "t5" reserves its 100 sentinels). */
  objectives: field(arrayOf(string({ nonEmpty: true })), ['clm']),
  /** Train on at most this many bytes of filtered text (the first ones of each source, in proportion). */
  maxTrainingBytes: field(integer({ min: 1024 }), 256 << 20),
});

const packSchema = object({
  seqLen: field(integer({ min: 2, max: 1 << 20 }), 1024),
  sequencesPerShard: field(integer({ min: 1 }), 4096),
  dtype: field(oneOf(['auto', 'uint16', 'uint32'] as const), 'auto'),
});

const componentSchema = object({
  name: field(string({ nonEmpty: true })),
  /** Take documents of these sources (default: every source). */
  sources: optional(arrayOf(string({ nonEmpty: true }), { minLength: 1 })),
  /** Only documents a language-ID stage labelled with one of these ISO 639-1 codes... */
  languages: optional(arrayOf(string({ nonEmpty: true }), { minLength: 1 })),
  /** ...or with any language but these ("excludeLanguages": ["en"] is everything not English). */
  excludeLanguages: optional(arrayOf(string({ nonEmpty: true }), { minLength: 1 })),
  /** Share of the packed document tokens (normalised over the components). */
  weight: field(number({ greaterThan: 0 })),
});

const mixtureSchema = object({
  /** Total document tokens wanted; small sources repeat to reach it. Default: all the data without repeating. */
  totalTokens: optional(integer({ min: 1 })),
  /** Weigh documents chosen by source and language instead of whole sources (pipeline/mixture-components.ts). */
  components: optional(arrayOf(componentSchema, { minLength: 1 })),
});

const pipelineFields = object({
  output: field(string({ nonEmpty: true })),
  sources: field(arrayOf(sourceSchema, { minLength: 1 })),
  stages: field(arrayOf(stageEntrySchema), [] as { stage: string; config: Record<string, unknown>; sources?: string[] }[]),
  tokenizer: field(tokenizerSchema, tokenizerSchema.parse({ vocabSize: 8192 }, 'pipeline.tokenizer')),
  pack: field(packSchema, packSchema.parse({}, 'pipeline.pack')),
  mixture: field(mixtureSchema, mixtureSchema.parse({}, 'pipeline.mixture')),
  /** A document (or line) longer than this is reported and skipped. */
  maxDocumentBytes: field(integer({ min: 1024 }), 8 << 20),
});

export type PipelineSourceSpec = ReturnType<typeof sourceSchema.parse>;

/** A stage entry after validation: the plugin and its parsed config. */
export interface PipelineStageSpec {
  plugin: DataStagePlugin<any>;
  config: unknown;
  sources?: string[];
}

export type PipelineSpec = Omit<ReturnType<typeof pipelineFields.parse>, 'stages'> & { stages: PipelineStageSpec[] };

/** Validate a pipeline against the registered stage plugins (each stage's config by the plugin's own schema). */
export function parsePipelineSpec(value: unknown, plugins: readonly DataStagePlugin<any>[]): PipelineSpec {
  const raw = pipelineFields.parse(value, 'pipeline');
  const names = new Set<string>();
  raw.sources.forEach((s, i) => {
    const at = `pipeline.sources[${i}]`;
    if (names.has(s.name)) throw new SpecError(`${at}.name`, `source name "${s.name}" is used twice`);
    names.add(s.name);
    if ((s.corpus === undefined) === (s.path === undefined))
      throw new SpecError(at, `give exactly one of "corpus" (${BUNDLED_SOURCES.join(', ')}) or "path"`);
    if (s.split === 'marker' && !s.marker) throw new SpecError(`${at}.marker`, 'missing; split "marker" needs the marker line');
  });
  if (!raw.mixture.components && raw.sources.every((s) => s.weight === 0)) throw new SpecError('pipeline.sources', 'at least one source needs a weight > 0');
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const stages = raw.stages.map((entry, i): PipelineStageSpec => {
    const at = `pipeline.stages[${i}]`;
    const plugin = byName.get(entry.stage);
    if (!plugin) throw new SpecError(`${at}.stage`, `unknown stage "${entry.stage}"; available: ${[...byName.keys()].join(', ')}`);
    for (const [k, s] of (entry.sources ?? []).entries())
      if (!names.has(s)) throw new SpecError(`${at}.sources[${k}]`, `no source is named "${s}"; sources: ${[...names].join(', ')}`);
    return { plugin, config: plugin.configSchema.parse(entry.config, `${at}.config`), sources: entry.sources };
  });
  if (raw.mixture.components) validateComponents(raw.mixture.components, raw.sources, stages);
  const t = raw.tokenizer;
  if ((t.vocabSize === undefined) === (t.path === undefined))
    throw new SpecError('pipeline.tokenizer', 'give exactly one of "vocabSize" (train a BPE tokenizer) or "path" (an existing tokenizer.json)');
  return { ...raw, stages };
}

