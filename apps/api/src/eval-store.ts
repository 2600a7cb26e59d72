import type { EvalReport, SuiteName } from '@unilab/eval';
import type { SqlDatabase, SqlValue } from './sql.ts';

/**
 * Evaluations of jobs' checkpoints, one row per (job, suite), in the jobs' SQLite file: the report is stored with the
 * job it measures and served as JSON. A new evaluation of the same job and suite replaces the old one.
 */
export type EvalStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface EvalRecord {
  jobId: string;
  suite: SuiteName;
  status: EvalStatus;
  /** The checkpoint evaluated (the job's newest when the evaluation was asked for). */
  checkpoint: string;
  report: EvalReport | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS evals (
  job_id TEXT NOT NULL, suite TEXT NOT NULL, status TEXT NOT NULL, checkpoint TEXT NOT NULL, report TEXT, error TEXT,
  created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, PRIMARY KEY (job_id, suite)
);
`;

type EvalRow = Record<string, SqlValue>;
const now = () => new Date().toISOString();

export class EvalStore {
  constructor(private readonly db: SqlDatabase) {
    db.exec(SCHEMA);
  }

  /** Queue an evaluation, replacing a finished one of the same job and suite. */
  queue(jobId: string, suite: SuiteName, checkpoint: string): EvalRecord {
    this.db.run(
      `INSERT OR REPLACE INTO evals (job_id, suite, status, checkpoint, report, error, created_at, started_at, finished_at)
       VALUES (?, ?, 'queued', ?, NULL, NULL, ?, NULL, NULL)`,
      [jobId, suite, checkpoint, now()],
    );
    return this.get(jobId, suite)!;
  }

  get(jobId: string, suite: SuiteName): EvalRecord | null {
    const row = this.db.get<EvalRow>('SELECT * FROM evals WHERE job_id = ? AND suite = ?', [jobId, suite]);
    return row ? toRecord(row) : null;
  }

  forJob(jobId: string): EvalRecord[] {
    return this.db.all<EvalRow>('SELECT * FROM evals WHERE job_id = ? ORDER BY created_at DESC, suite', [jobId]).map(toRecord);
  }

  /** Evaluations in a status, oldest first. */
  withStatus(status: EvalStatus): EvalRecord[] {
    return this.db.all<EvalRow>('SELECT * FROM evals WHERE status = ? ORDER BY created_at, rowid', [status]).map(toRecord);
  }

  started(jobId: string, suite: SuiteName): void {
    this.db.run("UPDATE evals SET status = 'running', started_at = ? WHERE job_id = ? AND suite = ?", [now(), jobId, suite]);
  }

  /** Back to the queue (a server stopped while it ran). */
  requeue(jobId: string, suite: SuiteName): void {
    this.db.run("UPDATE evals SET status = 'queued', started_at = NULL WHERE job_id = ? AND suite = ?", [jobId, suite]);
  }

  completed(jobId: string, suite: SuiteName, report: EvalReport): void {
    this.db.run("UPDATE evals SET status = 'completed', report = ?, finished_at = ? WHERE job_id = ? AND suite = ?", [JSON.stringify(report), now(), jobId, suite]);
  }

  /** Remove a deleted job's evaluations. */
  forget(jobId: string): void {
    this.db.run('DELETE FROM evals WHERE job_id = ?', [jobId]);
  }

  failed(jobId: string, suite: SuiteName, error: string): void {
    this.db.run("UPDATE evals SET status = 'failed', error = ?, finished_at = ? WHERE job_id = ? AND suite = ?", [error, now(), jobId, suite]);
  }
}

function toRecord(r: EvalRow): EvalRecord {
  return {
    jobId: r.job_id as string,
    suite: r.suite as SuiteName,
    status: r.status as EvalStatus,
    checkpoint: r.checkpoint as string,
    report: r.report === null ? null : (JSON.parse(r.report as string) as EvalReport),
    error: r.error as string | null,
    createdAt: r.created_at as string,
    startedAt: r.started_at as string | null,
    finishedAt: r.finished_at as string | null,
  };
}
