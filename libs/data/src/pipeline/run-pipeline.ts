import { mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadProblem } from '../readers/read-item.ts';
import { writeFileAtomic } from '../pack/atomic-write.ts';
import type { SourceShare } from '../pack/shard-format.ts';
import { buildTokenizer } from './build-tokenizer.ts';
import { encodeMembers } from './encode-phase.ts';
import { filterAndRoute } from './filter-phase.ts';
import { mixtureMembers } from './mixture-components.ts';
import { packMembers } from './pack-phase.ts';
import type { PipelineSpec } from './pipeline-spec.ts';
import type { StageStats } from './stage-stats.ts';

export interface ProgressUpdate {
  phase: 'filter' | 'tokenizer' | 'encode' | 'pack';
  source?: string;
  documents: number;
  bytes: number;
  seconds: number;
  done: boolean;
  /** filter phase: the read step and each stage so far, for this source. */
  stages?: StageStats[];
}

export interface PipelineEvents {
  onProgress?(update: ProgressUpdate): void;
  onProblem?(problem: ReadProblem): void;
}

export interface PipelineOptions {
  spec: PipelineSpec;
  /** The special tokens an objective needs (the CLI answers from the plugin registry). */
  specialTokensFor?: (objective: string) => readonly string[];
  events?: PipelineEvents;
}

export interface SourceReport {
  /** "read" first, then each stage applied to this source. */
  stages: StageStats[];
  keptDocuments: number;
  keptBytes: number;
}

export interface PipelineReport {
  output: string;
  sources: Record<string, SourceReport>;
  /** Each stage over all sources. */
  stages: StageStats[];
  /** The first bad inputs met (file and line); `problemCount` has them all. */
  problems: ReadProblem[];
  problemCount: number;
  tokenizer: { kind: string; vocabSize: number; trained: boolean; trainingBytes: number; seconds: number; bytesPerToken: number };
  encode: { documents: number; bytes: number; tokens: number; seconds: number };
  pack: { documents: number; sequences: number; shards: number; documentTokens: number; padTokens: number; seconds: number };
  /** Per mixture component (or per source without components): planned and realised tokens, languages. */
  mixture: Record<string, SourceShare>;
  /** Per source: documents the stages kept that no mixture component selects (left out of the dataset). */
  unrouted: Record<string, number>;
}

/**
 * Run a data pipeline end to end: read every source, pass each document through its stages, route what survives to
 * its mixture member (a component chosen by source and language, or its source) and spill it there (filter-phase.ts),
 * train (or load) the tokenizer (build-tokenizer.ts), tokenize (encode-phase.ts), mix the members by weight and pack
 * into shards (pack-phase.ts). Memory stays bounded by one document, the stages' own state (dedup signatures,
 * language models) and one shard. The dataset's index.json is written last; until then the output directory holds no
 * index, so a crashed run is never mistaken for a finished one.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineReport> {
  const { spec, events = {} } = options;
  const out = spec.output;
  const work = join(out, '.work');
  await mkdir(work, { recursive: true });
  await unlink(join(out, 'index.json')).catch(() => {});

  // Each mixture member (a component, or a whole source) spills the documents routed to it.
  const members = mixtureMembers(spec.sources, spec.mixture.components);
  const spills = members.map((_, mi) => join(work, `filtered-${mi}.jsonl`));
  const filtered = await filterAndRoute(spec, members, spills, events);
  const built = await buildTokenizer(spec, spills.map((path, mi) => ({ path, bytes: filtered.routed[mi].bytes })), options.specialTokensFor, events);
  const { tokenizer } = built;
  const { lengths, encode } = await encodeMembers(members, spills, work, tokenizer, events);
  const packed = await packMembers(spec, members, filtered.routed, lengths, work, tokenizer);
  const { packer, index } = packed;

  await writeFileAtomic(join(out, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  events.onProgress?.({ phase: 'pack', documents: packer.documents, bytes: packer.documentTokens, seconds: packed.seconds, done: true });
  const report: PipelineReport = {
    output: out,
    sources: filtered.sources,
    stages: [filtered.readTotal, ...filtered.totals],
    problems: filtered.problems,
    problemCount: filtered.problemCount,
    tokenizer: {
      kind: tokenizer.kind,
      vocabSize: tokenizer.vocabSize,
      trained: built.trained,
      trainingBytes: built.trainingBytes,
      seconds: built.seconds,
      bytesPerToken: encode.tokens > 0 ? encode.bytes / encode.tokens : 0,
    },
    encode,
    pack: {
      documents: packer.documents,
      sequences: index.sequences,
      shards: packed.shards.length,
      documentTokens: packer.documentTokens,
      padTokens: packer.padTokens,
      seconds: packed.seconds,
    },
    mixture: packed.mixture,
    unrouted: filtered.unrouted,
  };
  await writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2));
  await writeFileAtomic(join(out, 'index.json'), JSON.stringify(index, null, 2));
  await rm(work, { recursive: true, force: true });
  return report;
}
