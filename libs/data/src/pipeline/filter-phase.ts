import { SpecError, type DataStage, type PipelineDocument } from '@unilab/core';
import { readBundled } from '../readers/bundled.ts';
import type { ReadItem, ReadProblem } from '../readers/read-item.ts';
import { readFiles } from '../readers/text-files.ts';
import { JsonlWriter } from './jsonl-writer.ts';
import { routeDocument, type MixtureMember } from './mixture-components.ts';
import type { PipelineSourceSpec, PipelineSpec } from './pipeline-spec.ts';
import type { PipelineEvents, SourceReport } from './run-pipeline.ts';
import { emptyStats, recordDrop, utf8Length, type StageStats } from './stage-stats.ts';

const MAX_LISTED_PROBLEMS = 100;

/** What each mixture member received: documents and bytes, and each document's language label in spill order. */
export interface RoutedMember {
  documents: number;
  bytes: number;
  languages: string[];
}

export interface FilterOutcome {
  sources: Record<string, SourceReport>;
  /** The read step over all sources, then each stage over all sources. */
  readTotal: StageStats;
  totals: StageStats[];
  problems: ReadProblem[];
  problemCount: number;
  routed: RoutedMember[];
  unrouted: Record<string, number>;
}

/** One source's pass: its read step and the stages that apply to it, counted as the documents go by. */
interface SourcePass {
  source: PipelineSourceSpec;
  applies: boolean[];
  read: StageStats;
  perStage: StageStats[];
}

/**
 * The filter phase: read every source, pass each document through the stages that apply to it, and spill what
 * survives to its mixture member (`spills[member]`, JSONL). Memory stays bounded by one document and the stages' state.
 */
export async function filterAndRoute(
  spec: PipelineSpec,
  members: readonly MixtureMember[],
  spills: readonly string[],
  events: PipelineEvents,
): Promise<FilterOutcome> {
  const instances: DataStage[] = [];
  for (const s of spec.stages) instances.push(await s.plugin.create(s.config));
  const stageLabel = (s: (typeof spec.stages)[number]) => (s.sources ? `${s.plugin.name} (${s.sources.join(', ')})` : s.plugin.name);
  const outcome: FilterOutcome = {
    sources: {},
    readTotal: emptyStats('read'),
    totals: spec.stages.map((s) => emptyStats(stageLabel(s))),
    problems: [],
    problemCount: 0,
    routed: members.map(() => ({ documents: 0, bytes: 0, languages: [] })),
    unrouted: {},
  };
  const writers: JsonlWriter[] = [];
  try {
    for (const path of spills) writers.push(await JsonlWriter.create(path));
    for (const source of spec.sources) {
      const pass: SourcePass = {
        source,
        applies: spec.stages.map((s) => !s.sources || s.sources.includes(source.name)),
        read: emptyStats('read'),
        perStage: spec.stages.map((s) => emptyStats(stageLabel(s))),
      };
      const kept = await filterSource(spec, pass, instances, members, writers, outcome, events);
      outcome.sources[source.name] = { stages: [pass.read, ...pass.perStage.filter((_, i) => pass.applies[i])], ...kept };
      mergeStats(outcome.readTotal, pass.read);
      pass.perStage.forEach((s, i) => mergeStats(outcome.totals[i], s));
    }
  } finally {
    for (const w of writers) await w.close();
  }
  if (spec.mixture.components)
    members.forEach((m, i) => {
      if (outcome.routed[i].documents === 0) throw new SpecError(m.path, `component "${m.name}" selects no documents (${selection(m)}) of those the stages kept`);
    });
  instances.forEach((stage, i) => {
    if (stage.summary) outcome.totals[i].summary = stage.summary();
  });
  return outcome;
}

/** Read one source to the end, filtering and routing each document; progress about once a second. */
async function filterSource(
  spec: PipelineSpec,
  pass: SourcePass,
  instances: readonly DataStage[],
  members: readonly MixtureMember[],
  writers: readonly JsonlWriter[],
  outcome: FilterOutcome,
  events: PipelineEvents,
): Promise<{ keptDocuments: number; keptBytes: number }> {
  const { source, read } = pass;
  let keptBytes = 0;
  let keptDocuments = 0;
  outcome.unrouted[source.name] = 0;
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
      stages: [read, ...pass.perStage.filter((_, i) => pass.applies[i])],
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
        outcome.problemCount++;
        if (outcome.problems.length < MAX_LISTED_PROBLEMS) outcome.problems.push(item.problem);
        events.onProblem?.(item.problem);
        continue;
      }
      read.bytesIn += utf8Length(item.document.text);
      read.kept++;
      const survivor = await applyStages(item.document, pass, instances);
      if (survivor) {
        keptBytes += survivor.bytes;
        keptDocuments++;
        await route(survivor.doc, survivor.bytes, source.name, members, writers, outcome);
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
  return { keptDocuments, keptBytes };
}

/** The document after every stage that applies (each may rewrite it), or null when one drops it. */
async function applyStages(
  document: PipelineDocument,
  pass: SourcePass,
  instances: readonly DataStage[],
): Promise<{ doc: PipelineDocument; bytes: number } | null> {
  let doc = document;
  let bytes = utf8Length(doc.text);
  for (let k = 0; k < instances.length; k++) {
    if (!pass.applies[k]) continue;
    const stats = pass.perStage[k];
    stats.documentsIn++;
    stats.bytesIn += bytes;
    const t = performance.now();
    const decision = await instances[k].process(doc);
    stats.seconds += (performance.now() - t) / 1000;
    if (!decision.keep) {
      recordDrop(stats, decision.reason);
      return null;
    }
    stats.kept++;
    if (decision.document && decision.document !== doc) {
      doc = decision.document;
      bytes = utf8Length(doc.text);
    }
  }
  return { doc, bytes };
}

/** Spill a kept document to the mixture member that selects it (by source and language), or count it unrouted. */
async function route(
  doc: PipelineDocument,
  bytes: number,
  source: string,
  members: readonly MixtureMember[],
  writers: readonly JsonlWriter[],
  outcome: FilterOutcome,
): Promise<void> {
  const member = routeDocument(members, source, doc.language);
  if (member < 0) {
    outcome.unrouted[source]++;
    return;
  }
  await writers[member].write({ id: doc.id, text: doc.text });
  const routed = outcome.routed[member];
  routed.documents++;
  routed.bytes += bytes;
  routed.languages.push(doc.language ?? '');
}

function openSource(source: PipelineSourceSpec, maxDocumentBytes: number): AsyncGenerator<ReadItem> {
  if (source.corpus) return readBundled(source.corpus, source.name);
  const split =
    source.split === 'marker' ? { kind: 'marker' as const, marker: source.marker! } : { kind: source.split as 'whole' | 'line' | 'blank-line' };
  return readFiles(source.path!, { source: source.name, format: source.format, split, textField: source.textField, maxDocumentBytes });
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
