import { realpathSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError, type PluginRegistry } from '@unilab/core';
import { createDefaultRegistry, parseJobSpec, type JobSpec } from '@unilab/runner';
import { admitJob, pretrainingAdmission } from '../src/admission.ts';
import { ADMITTED_SPEC_VERSION, loadRunSpec, type AdmittedSpec } from '../src/admitted-spec.ts';
import { loadServerConfig, type ServerConfig } from '../src/config.ts';
import { nodeRuntime } from '../src/node/runtime.ts';
import { onThisMachine } from '../src/redis/train-job.ts';
import { JobStore } from '../src/store.ts';
import { serveWorker } from '../src/worker.ts';
import type { FromWorker, ToWorker } from '../src/worker-protocol.ts';
import { followUntil, makeDataDir, removeTempDirs, startTestServer, tempDir, tinySpec, waitForJob } from './helpers.ts';

let dataDir: string;
let registry: PluginRegistry;
let limits: ServerConfig;

beforeAll(async () => {
  dataDir = realpathSync(await makeDataDir());
  registry = createDefaultRegistry();
  limits = await loadServerConfig({ overrides: { dataDir } });
});

afterAll(removeTempDirs);

const { steps: _steps, ...stagedTrain } = tinySpec().train;
/** A staged job on the data directory's corpus; `stages` as given. */
const staged = (stages: unknown[], data: Record<string, unknown> = tinySpec().data) => ({ ...tinySpec(), data, train: stagedTrain, stages });

describe('admission parses once and resolves paths on the typed spec', () => {
  it('returns the typed job with every path resolved inside the data directory, bundled corpora by name', async () => {
    const spec = staged([
      { name: 'own', steps: 2, data: { corpus: 'corpora/sotu-small' } },
      { name: 'mixed', steps: 2, data: { mixture: [{ corpus: 'sotu', weight: 1 }, { corpus: 'corpora/sotu-small', weight: 2 }] } },
      { name: 'inherited', steps: 2 },
    ]);
    const { job, outDir } = await admitJob({ ...spec, outDir: 'out/typed' }, 'job_typed', registry, limits);
    const corpus = join(limits.dataDir, 'corpora', 'sotu-small');
    expect(job.stages.map((s) => s.spec.data.corpus)).toEqual([corpus, 'sotu', corpus]);
    expect(job.stages[1].mixture).toEqual([{ corpus: 'sotu', weight: 1 }, { corpus, weight: 2 }]);
    expect(outDir).toBe(join(limits.dataDir, 'out', 'typed'));
    expect(job.stages.every((s) => s.spec.outDir === outDir)).toBe(true);
    // What is stored and posted is that typed value, with the form's version.
    const stored = pretrainingAdmission({ job, outDir }).runSpec;
    expect(stored).toEqual({ specVersion: ADMITTED_SPEC_VERSION, kind: 'pretrain', job });
  });

  it('names the field the escaping path was written at: a stage own, a mixture component, an inherited corpus, a dataset', async () => {
    const outside = await tempDir('unilab-outside-');
    await mkdir(join(outside, 'ds'));
    await symlink(outside, join(limits.dataDir, 'escape'));
    const cases: [unknown, string][] = [
      [staged([{ name: 'a', steps: 2 }, { name: 'b', steps: 2, data: { corpus: '../../etc' } }]), 'spec.stages[1].data.corpus'],
      [staged([{ name: 'a', steps: 2, data: { mixture: [{ corpus: 'sotu', weight: 1 }, { corpus: '/etc', weight: 1 }] } }]), 'spec.stages[0].data.mixture[1].corpus'],
      [staged([{ name: 'a', steps: 2 }], { corpus: 'escape' }), 'spec.data.corpus'],
      [staged([{ name: 'a', steps: 2, data: { shards: 'escape/ds' } }]), 'spec.stages[0].data.shards'],
      [tinySpec({ data: { shards: '../ds' } }), 'spec.data.shards'],
      [tinySpec({ outDir: 'escape/out' }), 'spec.outDir'],
    ];
    for (const [spec, path] of cases) {
      const err = await admitJob(spec, 'job_escape', registry, limits).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, path).toBeInstanceOf(SpecError);
      expect((err as SpecError).path, path).toBe(path);
      expect((err as SpecError).message, path).toMatch(/outside (it|the data directory)|links outside/);
      expect((err as SpecError).message, path).not.toContain(outside);
    }
  });
});

describe('the worker runs the admitted spec as it is', () => {
  /** Run one train message through serveWorker on an in-process port; the messages it posts back. */
  async function train(spec: unknown, outDir: string): Promise<FromWorker[]> {
    const posted: FromWorker[] = [];
    let deliver: (message: ToWorker) => void = () => {};
    const ended = new Promise<void>((resolve) =>
      serveWorker({
        post: (m) => {
          posted.push(m);
          if (m.type === 'done' || m.type === 'failed') resolve();
        },
        onMessage: (listener) => (deliver = listener),
      }),
    );
    deliver({ type: 'train', jobId: 'job_worker', spec: spec as AdmittedSpec, outDir, resume: false, pluginConfig: null });
    await ended;
    return posted;
  }

  it('trains a typed spec the full parser would refuse, so it never parses it again', async () => {
    const { job } = await admitJob(
      staged([
        { name: 'one', steps: 2 },
        { name: 'two', steps: 2 },
      ]),
      'job_worker',
      registry,
      limits,
    );
    // Two stages of one name: the parser refuses that, the typed form can carry it (each stage has its own directory).
    const twins: JobSpec = { ...job, stages: job.stages.map((s) => ({ ...s, name: 'twin' })) };
    expect(() => parseJobSpec({ ...staged([{ name: 'twin', steps: 2 }, { name: 'twin', steps: 2 }]) })).toThrow(/used by an earlier stage/);
    const posted = await train({ specVersion: ADMITTED_SPEC_VERSION, kind: 'pretrain', job: twins }, join(await tempDir('unilab-worker-'), 'job'));
    const done = posted.find((m) => m.type === 'done');
    expect(done, JSON.stringify(posted.find((m) => m.type === 'failed'))).toMatchObject({ outcome: { status: 'completed', globalStep: 4 } });
    const stages = posted.flatMap((m) => (m.type === 'event' && m.event.type === 'stage' ? [m.event.name] : []));
    expect(stages).toEqual(['twin', 'twin']);
  });

  it('refuses a spec that is not of the admitted form, naming the form, instead of guessing at it', async () => {
    for (const spec of [tinySpec(), { specVersion: ADMITTED_SPEC_VERSION + 1, kind: 'pretrain', job: {} }]) {
      const posted = await train(spec, join(await tempDir('unilab-worker-'), 'job'));
      expect(posted.at(-1)).toMatchObject({ type: 'failed', message: `job job_worker: its spec is not an admitted spec of form ${ADMITTED_SPEC_VERSION}; resubmit the job to a server of this version` });
    }
  });
});

describe('specs stored by a server before the admitted form', () => {
  it('a legacy stored row (raw spec, paths resolved) is migrated when the store opens, and the interrupted job resumes', async () => {
    const dir = await makeDataDir();
    const spec = tinySpec({ name: 'legacy', train: { steps: 60, checkpointEvery: 2 } });
    const first = await startTestServer(dir);
    const submitted = await first.client.submit(spec);
    await followUntil(first.client, submitted.id, (type, d) => type === 'checkpoint' && d.globalStep >= 2);
    await first.server.close();

    // Rewrite the row as an older server stored it: the submitted JSON with its corpus resolved in place.
    const legacy = { ...spec, data: { ...spec.data, corpus: join(dir, 'corpora', 'sotu-small') } };
    const db = await nodeRuntime.openDatabase(join(dir, 'unilab.db'));
    expect(db.get<{ status: string }>('SELECT status FROM jobs WHERE id = ?', [submitted.id])!.status).toBe('interrupted');
    db.run('UPDATE jobs SET run_spec = ? WHERE id = ?', [JSON.stringify(legacy), submitted.id]);
    db.close();

    // The next server (autoResume) migrates the row as it opens its store and resumes the job from its checkpoint.
    const second = await startTestServer(dir);
    try {
      const seen = await followUntil(second.client, submitted.id, () => false);
      const restart = seen.filter((e) => e.type === 'start').at(-1)!.data;
      expect(restart.resumedFrom).toMatch(/step-\d+\.safetensors$/);
      expect(restart.startStep).toBeGreaterThanOrEqual(2);
      expect((await waitForJob(() => second.client.job(submitted.id), (j) => j.status === 'completed')).step).toBe(60);
    } finally {
      await second.server.close();
    }
    const store = new JobStore(await nodeRuntime.openDatabase(join(dir, 'unilab.db')));
    const migrated = store.getJob(submitted.id)!.runSpec;
    store.close();
    expect(migrated).toMatchObject({ specVersion: ADMITTED_SPEC_VERSION, kind: 'pretrain', job: { name: 'legacy', totalSteps: 60 } });
    expect(migrated.kind === 'pretrain' && migrated.job.stages[0].spec.data.corpus).toBe(legacy.data.corpus);
  });

  it('loadRunSpec parses a legacy value once, keeps an admitted one as it is, and refuses another form by name', () => {
    const legacy = loadRunSpec(tinySpec());
    expect(legacy.kind).toBe('pretrain');
    expect(loadRunSpec(legacy)).toBe(legacy);
    const align = loadRunSpec({ kind: 'align', base: { checkpoint: '/data/base.safetensors' }, data: { generate: {} }, stages: [{ kind: 'sft' }] });
    expect(align).toMatchObject({ kind: 'align', job: { base: { checkpoint: '/data/base.safetensors' }, stages: [{ kind: 'sft', options: { lr: 1e-3 } }] } });
    expect(() => loadRunSpec({ specVersion: 99, kind: 'pretrain', job: {} })).toThrow(/stored spec is of form 99; this server reads form 1/);
  });
});

describe("a queue worker's view of an admitted spec", () => {
  it('moves every path under the API data directory onto its own mount, legacy payloads included', async () => {
    const api = '/srv/api-data';
    const mine = await tempDir('unilab-mount-');
    await mkdir(join(mine, 'jobs'), { recursive: true });
    const typed = loadRunSpec({
      ...staged([
        { name: 'a', steps: 2, data: { mixture: [{ corpus: 'sotu', weight: 1 }, { corpus: `${api}/corpora/x`, weight: 1 }] } },
        { name: 'b', steps: 2, data: { shards: `${api}/datasets/d` } },
      ]),
      data: { corpus: `${api}/corpora/x` },
      outDir: `${api}/runs/r`,
    });
    for (const runSpec of [typed, { ...tinySpec(), data: { corpus: `${api}/corpora/x` } } as unknown as AdmittedSpec]) {
      const seen = onThisMachine({ id: 'job_q', runSpec, outDir: `${api}/jobs/job_q`, dataDir: api }, mine);
      expect(seen.outDir).toBe(join(mine, 'jobs', 'job_q'));
      expect(seen.runSpec.specVersion).toBe(ADMITTED_SPEC_VERSION);
      const text = JSON.stringify(seen.runSpec);
      expect(text).not.toContain(api);
      expect(text).toContain(join(mine, 'corpora', 'x'));
    }
    const stages = (onThisMachine({ id: 'job_q', runSpec: typed, outDir: `${api}/jobs/job_q`, dataDir: api }, mine).runSpec as Extract<AdmittedSpec, { kind: 'pretrain' }>).job.stages;
    expect(stages[0].mixture!.map((m) => m.corpus)).toEqual(['sotu', join(mine, 'corpora', 'x')]);
    expect(stages[1].spec.data.shards).toBe(join(mine, 'datasets', 'd'));
    expect(stages[1].spec.outDir).toBe(join(mine, 'runs', 'r'));
  });
});
