import type { JobSpec, StagePlan } from './job-spec.ts';

/** What a file-system path of a job spec names: a corpus (a bundled corpus's name or text files), a prepared dataset, or the output directory. */
export type JobPathKind = 'corpus' | 'shards' | 'outDir';

/** One path a parsed job names: its value, what it names, and the spec field it was written at (for an error to name). */
export interface JobPath {
  kind: JobPathKind;
  value: string;
  field: string;
}

/**
 * A copy of a parsed job with every path it names replaced by `map(path)`: the API resolves them inside its data
 * directory at admission, a queue worker moves them onto its own mount of that directory. A path is visited with the
 * field the user wrote it at, so a refusal names that field: a stage's own corpus at `spec.stages[i].data.corpus`,
 * an inherited one at `spec.data.corpus`.
 */
export function mapJobPaths(job: JobSpec, map: (path: JobPath) => string): JobSpec {
  return { ...job, stages: job.stages.map((stage) => mapStagePaths(stage, map)) };
}

function mapStagePaths(stage: StagePlan, map: (path: JobPath) => string): StagePlan {
  const { spec, dataPath } = stage;
  const mixture = stage.mixture?.map((m, j) => ({ ...m, corpus: map({ kind: 'corpus', value: m.corpus, field: `${dataPath}.mixture[${j}].corpus` }) }));
  // A stage that names its own dataset keeps the inherited corpus beside it (job-spec.ts), written at spec.data.corpus.
  const ownCorpus = dataPath !== 'spec.data' && spec.data.shards === undefined;
  const corpus = mixture ? mixture[0].corpus : map({ kind: 'corpus', value: spec.data.corpus, field: ownCorpus ? `${dataPath}.corpus` : 'spec.data.corpus' });
  const shards = spec.data.shards === undefined ? undefined : map({ kind: 'shards', value: spec.data.shards, field: `${dataPath}.shards` });
  const outDir = spec.outDir === undefined ? undefined : map({ kind: 'outDir', value: spec.outDir, field: 'spec.outDir' });
  return {
    ...stage,
    spec: { ...spec, data: { ...spec.data, corpus, ...(shards !== undefined && { shards }) }, ...(outDir !== undefined && { outDir }) },
    ...(mixture && { mixture }),
  };
}
