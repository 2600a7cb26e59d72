import { SpecError, type DataStage, type PipelineDocument, type Tokenizer } from '@unilab/core';
import { mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readBundled } from '../readers/bundled.ts';
import type { ReadItem, ReadProblem } from '../readers/read-item.ts';
import { readFiles } from '../readers/text-files.ts';
import { writeFileAtomic } from '../pack/atomic-write.ts';
import { MixtureInterleaver, planMixture } from '../pack/mixture.ts';
import { SequencePacker } from '../pack/sequence-packer.ts';
import { SHARD_FORMAT, SHARD_FORMAT_VERSION, dtypeFor, type ShardEntry, type ShardIndex, type SourceShare } from '../pack/shard-format.ts';
import { writeShard } from '../pack/shard-writer.ts';
import { TokenSpillWriter, readTokenSpill } from '../pack/token-spill.ts';
import { PieceCounter, trainBpe } from '../tokenizer/bpe-trainer.ts';
import { tokenizerFromJSON } from '../tokenizer/tokenizer-from-json.ts';
import { JsonlWriter } from './jsonl-writer.ts';
import { mixtureMembers, routeDocument, type MixtureMember } from './mixture-components.ts';
import type { PipelineSourceSpec, PipelineSpec } from './pipeline-spec.ts';
import { emptyStats, recordDrop, utf8Length, type StageStats } from './stage-stats.ts';

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

const MAX_LISTED_PROBLEMS = 100;

/**
 * Run a data pipeline end to end: read every source, pass each document through its stages, route what survives to
 * its mixture member (a component chosen by source and language, or its source) and spill it there, train (or load)
 * the tokenizer, tokenize, mix the members by weight and pack into shards. Memory stays bounded by one document, the
 * stages' own state (dedup signatures, language models) and one shard. The dataset's index.json is written last;
 * until then the output directory holds no index, so a crashed run is never mistaken for a finished one.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineReport> {
  const { spec, events = {} } = options;
  const out = spec.output;
  const work = join(out, '.work');
  await mkdir(work, { recursive: true });
  await unlink(join(out, 'index.json')).catch(() => {});

  const instances: DataStage[] = [];
  for (const s of spec.stages) instances.push(await s.plugin.create(s.config));
  const stageLabel = (s: (typeof spec.stages)[number]) => (s.sources ? `${s.plugin.name} (${s.sources.join(', ')})` : s.plugin.name);
  const totals = spec.stages.map((s) => emptyStats(stageLabel(s)));
  const readTotal = emptyStats('read');
  const problems: ReadProblem[] = [];
  let problemCount = 0;
  const sources: Record<string, SourceReport> = {};
  // Each mixture member (a component, or a whole source) spills the documents routed to it.
  const members = mixtureMembers(spec.sources, spec.mixture.components);
  const spills = members.map((_, mi) => join(work, `filtered-${mi}.jsonl`));
  const spillWriters: JsonlWriter[] = [];
  for (const path of spills) spillWriters.push(await JsonlWriter.create(path));
  // Per member: documents and bytes routed to it, and each document's language label in spill order (like the
  // token lengths below, one small entry per document) so the report can count the languages of what is packed.
  const routed = members.map(() => ({ documents: 0, bytes: 0, languages: [] as string[] }));
  const unrouted: Record<string, number> = {};

  try {
    for (const source of spec.sources) {
      const applies = spec.stages.map((s) => !s.sources || s.sources.includes(source.name));
      const read = emptyStats('read');
      const perStage = spec.stages.map((s) => emptyStats(stageLabel(s)));
      let keptBytes = 0;
      let keptDocuments = 0;
      unrouted[source.name] = 0;
      const started = performance.now();
      let lastReport = started;
      const progress = (done: boolean) =>
        events.onProgress?.({
          phase: 'filter',
          source: source.name,
          documents: read.documentsIn,
          bytes: read.bytesIn,
          seconds: (performance.now() - started) / 1000,
          done,
          stages: [read, ...perStage.filter((_, i) => applies[i])],
        });
      const items = openSource(source, spec.maxDocumentBytes);
      try {
        for (;;) {
          const t0 = performance.now();
          const next = await items.next();
          read.seconds += (performance.now() - t0) / 1000;
          if (next.done) break;
          const item = next.value;
          read.documentsIn++;
          if ('problem' in item) {
            recordDrop(read, item.problem.code);
            problemCount++;
            if (problems.length < MAX_LISTED_PROBLEMS) problems.push(item.problem);
            events.onProblem?.(item.problem);
            continue;
          }
          let doc: PipelineDocument = item.document;
          let bytes = utf8Length(doc.text);
          read.bytesIn += bytes;
          read.kept++;
          let kept = true;
          for (let k = 0; k < instances.length && kept; k++) {
            if (!applies[k]) continue;
            const stats = perStage[k];
            stats.documentsIn++;
            stats.bytesIn += bytes;
            const t = performance.now();
            const decision = await instances[k].process(doc);
            stats.seconds += (performance.now() - t) / 1000;
            if (!decision.keep) {
              recordDrop(stats, decision.reason);
              kept = false;
            } else {
              stats.kept++;
              if (decision.document && decision.document !== doc) {
                doc = decision.document;
                bytes = utf8Length(doc.text);
              }
            }
          }
          if (kept) {
            keptBytes += bytes;
            keptDocuments++;
            const member = routeDocument(members, source.name, doc.language);
            if (member < 0) {
              unrouted[source.name]++;
            } else {
              await spillWriters[member].write({ id: doc.id, text: doc.text });
              routed[member].documents++;
              routed[member].bytes += bytes;
              routed[member].languages.push(doc.language ?? '');
            }
          }
          if (performance.now() - lastReport > 1000) {
            lastReport = performance.now();
            progress(false);
          }
        }
      } finally {
        await items.return(undefined);
      }
      progress(true);
      sources[source.name] = { stages: [read, ...perStage.filter((_, i) => applies[i])], keptDocuments, keptBytes };
      mergeStats(readTotal, read);
      perStage.forEach((s, i) => mergeStats(totals[i], s));
    }
  } finally {
    for (const w of spillWriters) await w.close();
  }
  if (spec.mixture.components)
    members.forEach((m, i) => {
      if (routed[i].documents === 0) throw new SpecError(m.path, `component "${m.name}" selects no documents (${selection(m)}) of those the stages kept`);
    });
  instances.forEach((stage, i) => {
    if (stage.summary) totals[i].summary = stage.summary();
  });

  const tokenizerInfo = await buildTokenizer(spec, spills.map((path, mi) => ({ path, bytes: routed[mi].bytes })), options, events);
  const tokenizer = tokenizerInfo.tokenizer;

  // Tokenize each member's documents into a token spill.
  const encodeStart = performance.now();
  const lengths: number[][] = [];
  let encodedBytes = 0;
  let encodedTokens = 0;
  let encodedDocs = 0;
  for (const [mi, member] of members.entries()) {
    const writer = await TokenSpillWriter.create(join(work, `tokens-${mi}.bin`));
    for await (const doc of spilledDocuments(spills[mi])) {
      const ids = tokenizer.encode(doc.text);
      await writer.add(ids);
      encodedBytes += utf8Length(doc.text);
      encodedTokens += ids.length;
      encodedDocs++;
    }
    await writer.close();
    lengths.push(writer.lengths);
    events.onProgress?.({
      phase: 'encode',
      source: member.name,
      documents: encodedDocs,
      bytes: encodedBytes,
      seconds: (performance.now() - encodeStart) / 1000,
      done: mi === members.length - 1,
    });
  }
  const encodeSeconds = (performance.now() - encodeStart) / 1000;

  // Mix and pack.
  const packStart = performance.now();
  const mixSources = members.map((m, i) => ({ name: m.name, weight: m.weight, documentTokens: lengths[i].map((n) => n + 1) }));
  const plan = planMixture(mixSources, { totalTokens: spec.mixture.totalTokens });
  const dtype = spec.pack.dtype === 'auto' ? dtypeFor(tokenizer.vocabSize) : spec.pack.dtype;
  if (dtype === 'uint16' && tokenizer.vocabSize > 65536)
    throw new Error(`pipeline.pack.dtype "uint16" cannot hold token ids of a ${tokenizer.vocabSize}-token vocabulary; use "uint32" or "auto"`);
  const packer = new SequencePacker(spec.pack.seqLen, spec.pack.sequencesPerShard, tokenizer.specialTokens.eos, tokenizer.specialTokens.pad);
  const weightSum = members.reduce((a, m) => a + m.weight, 0);
  const interleaver = new MixtureInterleaver(
    members.map((m) => m.weight / weightSum),
    members.map((m) => plan.take.get(m.name)!),
  );
  const readers = members.map((m, i) => readTokenSpill(join(work, `tokens-${i}.bin`), lengths[i], plan.take.get(m.name)!));
  const realised = members.map(() => ({ documents: 0, tokens: 0, languages: new Map<string, number>() }));
  const shards: ShardEntry[] = [];
  let document = 0;
  for (let s = interleaver.next(); s >= 0; s = interleaver.next()) {
    const next = await readers[s].next();
    if (next.done) throw new Error(`mixture member ${members[s].name} ran out of tokenized documents while packing`);
    interleaver.record(s, next.value.length + 1);
    const language = routed[s].languages[realised[s].documents % routed[s].languages.length];
    if (language) realised[s].languages.set(language, (realised[s].languages.get(language) ?? 0) + 1);
    realised[s].documents++;
    realised[s].tokens += next.value.length + 1;
    for (const shard of packer.add(document++, next.value)) shards.push(await writeShard(out, shards.length, shard, dtype));
  }
  for (const reader of readers) await reader.return(undefined);
  const last = packer.finish();
  if (last) shards.push(await writeShard(out, shards.length, last, dtype));
  await removeStaleShards(out, shards.length);

  const mixture: Record<string, SourceShare> = {};
  members.forEach((m, i) => {
    mixture[m.name] = {
      documents: realised[i].documents,
      tokens: realised[i].tokens,
      targetTokens: plan.targetTokens.get(m.name)!,
      plannedTokens: plan.plannedTokens.get(m.name)!,
      target: m.weight / weightSum,
      share: packer.documentTokens > 0 ? realised[i].tokens / packer.documentTokens : 0,
      epochs: lengths[i].length > 0 ? realised[i].documents / lengths[i].length : 0,
      languages: Object.fromEntries([...realised[i].languages].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    };
  });
  const index: ShardIndex = {
    format: SHARD_FORMAT,
    version: SHARD_FORMAT_VERSION,
    dtype,
    seqLen: spec.pack.seqLen,
    vocabSize: tokenizer.vocabSize,
    eos: tokenizer.specialTokens.eos,
    pad: tokenizer.specialTokens.pad,
    tokenizer: 'tokenizer.json',
    documents: packer.documents,
    documentTokens: packer.documentTokens,
    padTokens: packer.padTokens,
    sequences: shards.reduce((n, s) => n + s.sequences, 0),
    shards,
    sources: mixture,
  };
  await writeFileAtomic(join(out, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  const packSeconds = (performance.now() - packStart) / 1000;
  events.onProgress?.({ phase: 'pack', documents: packer.documents, bytes: packer.documentTokens, seconds: packSeconds, done: true });
  const report: PipelineReport = {
    output: out,
    sources,
    stages: [readTotal, ...totals],
    problems,
    problemCount,
    tokenizer: {
      kind: tokenizer.kind,
      vocabSize: tokenizer.vocabSize,
      trained: tokenizerInfo.trained,
      trainingBytes: tokenizerInfo.trainingBytes,
      seconds: tokenizerInfo.seconds,
      bytesPerToken: encodedTokens > 0 ? encodedBytes / encodedTokens : 0,
    },
    encode: { documents: encodedDocs, bytes: encodedBytes, tokens: encodedTokens, seconds: encodeSeconds },
    pack: {
      documents: packer.documents,
      sequences: index.sequences,
      shards: shards.length,
      documentTokens: packer.documentTokens,
      padTokens: packer.padTokens,
      seconds: packSeconds,
    },
    mixture,
    unrouted,
  };
  await writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2));
  await writeFileAtomic(join(out, 'index.json'), JSON.stringify(index, null, 2));
  await rm(work, { recursive: true, force: true });
  return report;
}

function openSource(source: PipelineSourceSpec, maxDocumentBytes: number): AsyncGenerator<ReadItem> {
  if (source.corpus) return readBundled(source.corpus, source.name);
  const split =
    source.split === 'marker' ? { kind: 'marker' as const, marker: source.marker! } : { kind: source.split as 'whole' | 'line' | 'blank-line' };
  return readFiles(source.path!, { source: source.name, format: source.format, split, textField: source.textField, maxDocumentBytes });
}

async function* spilledDocuments(path: string): AsyncGenerator<{ id: string; text: string }> {
  for await (const item of readFiles(path, { source: 'spill', format: 'jsonl', maxDocumentBytes: Number.MAX_SAFE_INTEGER })) {
    if ('document' in item) yield item.document;
  }
}

function selection(m: MixtureMember): string {
  const languages = m.languages ? ` labelled ${m.languages.join(', ')}` : m.excludeLanguages ? ` labelled anything but ${m.excludeLanguages.join(', ')}` : '';
  return `source ${m.sources.join(', ')}${languages}`;
}

function mergeStats(into: StageStats, from: StageStats): void {
  into.documentsIn += from.documentsIn;
  into.bytesIn += from.bytesIn;
  into.kept += from.kept;
  into.dropped += from.dropped;
  into.seconds += from.seconds;
  for (const [r, n] of Object.entries(from.reasons)) into.reasons[r] = (into.reasons[r] ?? 0) + n;
}

async function buildTokenizer(
  spec: PipelineSpec,
  spills: readonly { path: string; bytes: number }[],
  options: PipelineOptions,
  events: PipelineEvents,
): Promise<{ tokenizer: Tokenizer; trained: boolean; trainingBytes: number; seconds: number }> {
  const wanted = [
    ...spec.tokenizer.specialTokens,
    ...spec.tokenizer.objectives.flatMap((o) => {
      if (!options.specialTokensFor) return [];
      return [...options.specialTokensFor(o)];
    }),
  ];
  const started = performance.now();
  if (spec.tokenizer.path) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readFile(spec.tokenizer.path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`pipeline.tokenizer.path: cannot read ${spec.tokenizer.path}: ${(err as Error).message}`);
    }
    const tokenizer = tokenizerFromJSON(json);
    const missing = wanted.filter((s) => tokenizer.specialTokens[s] === undefined);
    if (missing.length > 0) throw new Error(`pipeline.tokenizer.path: ${spec.tokenizer.path} lacks the special tokens ${missing.join(', ')}`);
    return { tokenizer, trained: false, trainingBytes: 0, seconds: (performance.now() - started) / 1000 };
  }
  const totalBytes = spills.reduce((n, s) => n + s.bytes, 0);
  const share = Math.min(1, spec.tokenizer.maxTrainingBytes / Math.max(1, totalBytes));
  const counter = new PieceCounter();
  let trainingBytes = 0;
  for (const spill of spills) {
    const budget = spill.bytes * share;
    let used = 0;
    for await (const doc of spilledDocuments(spill.path)) {
      if (used >= budget) break;
      counter.add(doc.text);
      used += utf8Length(doc.text);
    }
    trainingBytes += used;
  }
  const tokenizer = trainBpe(counter, { vocabSize: spec.tokenizer.vocabSize!, specialTokens: wanted });
  const seconds = (performance.now() - started) / 1000;
  events.onProgress?.({ phase: 'tokenizer', documents: counter.counts.size, bytes: trainingBytes, seconds, done: true });
  return { tokenizer, trained: true, trainingBytes, seconds };
}

/** Shard files left by an earlier, larger run in the same directory would confuse a reader of the directory. */
async function removeStaleShards(dir: string, count: number): Promise<void> {
  for (const f of await readdir(dir)) {
    const m = /^shard-(\d{5})\.(bin|docs\.bin)$/.exec(f);
    if (m && Number(m[1]) >= count) await unlink(join(dir, f)).catch(() => {});
  }
}
