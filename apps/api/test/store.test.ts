import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeRuntime } from '../src/node/runtime.ts';
import { JobStore } from '../src/store.ts';
import { removeTempDirs, tempDir } from './helpers.ts';

afterAll(removeTempDirs);

describe('job store', () => {
  it('a store written before diverged jobs recorded their op gains the column and keeps its jobs', async () => {
    const path = join(await tempDir('unilab-store-'), 'unilab.db');
    const old = await nodeRuntime.openDatabase(path);
    // The jobs table as it was before error_op existed.
    old.exec(`CREATE TABLE jobs (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, spec TEXT NOT NULL, run_spec TEXT NOT NULL,
      out_dir TEXT NOT NULL, total_steps INTEGER NOT NULL, stage_count INTEGER NOT NULL,
      stage INTEGER NOT NULL DEFAULT 0, stage_name TEXT, attempt INTEGER NOT NULL DEFAULT 0, step INTEGER NOT NULL DEFAULT 0,
      parameters INTEGER, loss REAL, held_out_loss REAL, lr REAL, error TEXT, error_step INTEGER, error_phase TEXT,
      runs INTEGER NOT NULL DEFAULT 0, queued_at TEXT NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT)`);
    old.run(
      `INSERT INTO jobs (id, name, status, spec, run_spec, out_dir, total_steps, stage_count, error, error_step, error_phase, queued_at, created_at, updated_at)
       VALUES ('job_old', 'old', 'failed', '{}', '{}', '/tmp/x', 12, 1, 'training diverged at step 6: loss is NaN', 6, 'forward', 'a', 'a', 'a')`,
    );
    old.close();

    const store = new JobStore(await nodeRuntime.openDatabase(path));
    expect(store.getJob('job_old')).toMatchObject({ status: 'failed', errorStep: 6, errorPhase: 'forward', errorOp: null });
    store.update('job_old', { errorOp: 'linear' });
    expect(store.getJob('job_old')?.errorOp).toBe('linear');
  });
});
