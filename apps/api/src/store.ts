import { loadRunSpec, type AdmittedSpec } from './admitted-spec.ts';
import { transaction, type SqlDatabase, type SqlValue } from './sql.ts';

/**
 * Jobs, their event log, metrics and checkpoint index in one SQLite file under the data directory. The event log is
 * the source of the SSE stream (its per-job sequence number is the SSE id, so Last-Event-ID resumes it); the jobs
 * row is a summary kept current from the events.
 */
export type JobStatus = 'queued' | 'running' | 'completed' | 'stopped' | 'failed' | 'cancelled' | 'interrupted';

/** States a job leaves only through the resume route (or never, for completed and stopped). */
export const FINISHED: readonly JobStatus[] = ['completed', 'stopped', 'failed', 'cancelled'];

export interface JobRecord {
  id: string;
  name: string;
  status: JobStatus;
  /** The spec as submitted. */
  spec: unknown;
  /** The spec the worker runs: parsed at admission, its paths resolved inside the data directory. */
  runSpec: AdmittedSpec;
  outDir: string;
  totalSteps: number;
  stageCount: number;
  stage: number;
  stageName: string | null;
  attempt: number;
  step: number;
  parameters: number | null;
  loss: number | null;
  heldOutLoss: number | null;
  lr: number | null;
  error: string | null;
  errorStep: number | null;
  errorPhase: string | null;
  /** The first op that produced a non-finite value, for a diverged job. */
  errorOp: string | null;
  /** How many times a worker has started the job: after the first, a start is a resume. */
  runs: number;
  /** When a cancel of the running job was asked for: the job ends cancelled, even if the server stops first. */
  cancelRequestedAt: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface StoredEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

export interface CheckpointRecord {
  stage: number;
  attempt: number;
  step: number;
  globalStep: number;
  path: string;
  at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, spec TEXT NOT NULL, run_spec TEXT NOT NULL,
  out_dir TEXT NOT NULL, total_steps INTEGER NOT NULL, stage_count INTEGER NOT NULL,
  stage INTEGER NOT NULL DEFAULT 0, stage_name TEXT, attempt INTEGER NOT NULL DEFAULT 0, step INTEGER NOT NULL DEFAULT 0,
  parameters INTEGER, loss REAL, held_out_loss REAL, lr REAL, error TEXT, error_step INTEGER, error_phase TEXT, error_op TEXT,
  runs INTEGER NOT NULL DEFAULT 0, cancel_requested_at TEXT, queued_at TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, queued_at);
CREATE TABLE IF NOT EXISTS events (
  job_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS metrics (
  job_id TEXT NOT NULL, stage INTEGER NOT NULL, step INTEGER NOT NULL, global_step INTEGER NOT NULL,
  loss REAL, lr REAL, grad_norm REAL, tokens INTEGER, held_out_loss REAL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_job ON metrics (job_id, global_step);
CREATE TABLE IF NOT EXISTS checkpoints (
  job_id TEXT NOT NULL, stage INTEGER NOT NULL, attempt INTEGER NOT NULL, step INTEGER NOT NULL,
  global_step INTEGER NOT NULL, path TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (job_id, path)
);
`;

/** Columns update() may set, by JobRecord field. */
const COLUMNS = {
  status: 'status',
  stage: 'stage',
  stageName: 'stage_name',
  attempt: 'attempt',
  step: 'step',
  parameters: 'parameters',
  loss: 'loss',
  heldOutLoss: 'held_out_loss',
  lr: 'lr',
  error: 'error',
  errorStep: 'error_step',
  errorPhase: 'error_phase',
  errorOp: 'error_op',
  runs: 'runs',
  cancelRequestedAt: 'cancel_requested_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
} as const;

export type JobUpdate = Partial<{ [K in keyof typeof COLUMNS]: JobRecord[K] }> & { queued?: boolean };

type JobRow = Record<string, SqlValue>;

/** The output directory asked for is (inside, or around) another job's. */
export class OutDirTakenError extends Error {
  constructor(readonly owner: string) {
    super(`the output directory is job ${owner}'s, or inside or around it; every job needs a directory of its own`);
  }
}

const now = () => new Date().toISOString();
/** SQLite has no NaN: a missing measurement is NULL. */
const finite = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export class JobStore {
  private readonly nextSeq = new Map<string, number>();

  /** `db` is shared with the evaluations' table (eval-store.ts): one SQLite file per data directory. */
  constructor(readonly db: SqlDatabase) {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    db.exec(SCHEMA);
    // A store made before a column existed gains it (CREATE TABLE IF NOT EXISTS leaves an old table as it is).
    const columns = db.all<{ name: string }>('PRAGMA table_info(jobs)').map((c) => c.name);
    for (const column of ['error_op', 'cancel_requested_at']) if (!columns.includes(column)) db.exec(`ALTER TABLE jobs ADD COLUMN ${column} TEXT`);
    this.migrateLegacyRunSpecs();
  }

  /**
   * A store written by a server before admitted specs were typed holds each job's run spec as the submitted JSON with
   * its paths resolved: each is parsed once into the admitted form (admitted-spec.ts) and written back, so an
   * interrupted job resumes across the upgrade. A row that no longer parses is left as it is: its worker refuses
   * it with a message saying so, and the job fails instead of the server.
   */
  private migrateLegacyRunSpecs(): void {
    for (const row of this.db.all<{ id: string; run_spec: string }>('SELECT id, run_spec FROM jobs')) {
      const stored: unknown = JSON.parse(row.run_spec);
      if (typeof stored === 'object' && stored !== null && 'specVersion' in stored) continue;
      let migrated: AdmittedSpec;
      try {
        migrated = loadRunSpec(stored);
      } catch (err) {
        console.error(`unilab api: job ${row.id}'s stored spec does not parse into the admitted form; left as it is: ${(err as Error).message}`);
        continue;
      }
      this.db.run('UPDATE jobs SET run_spec = ? WHERE id = ?', [JSON.stringify(migrated), row.id]);
    }
  }

  /**
   * Insert a queued job, reserving its output directory in the same transaction: no two jobs may share a directory,
   * or hold one inside the other's (each would overwrite or resume the other's checkpoints).
   */
  insertJob(job: { id: string; name: string; spec: unknown; runSpec: AdmittedSpec; outDir: string; totalSteps: number; stageCount: number }): JobRecord {
    return transaction(this.db, () => {
      const d = job.outDir;
      const owner = this.outDirOwner(d);
      if (owner) throw new OutDirTakenError(owner);
      const at = now();
      this.db.run(
        `INSERT INTO jobs (id, name, status, spec, run_spec, out_dir, total_steps, stage_count, queued_at, created_at, updated_at)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)`,
        [job.id, job.name, JSON.stringify(job.spec), JSON.stringify(job.runSpec), d, job.totalSteps, job.stageCount, at, at, at],
      );
      return this.getJob(job.id)!;
    });
  }

  /** The job whose directory is `outDir`, or lies inside or around it; null when the directory is free. */
  outDirOwner(outDir: string): string | null {
    const d = outDir;
    return (
      this.db.get<{ id: string }>(
        `SELECT id FROM jobs WHERE out_dir = ? OR substr(?, 1, length(out_dir) + 1) = out_dir || '/' OR substr(out_dir, 1, length(?) + 1) = ? || '/' LIMIT 1`,
        [d, d, d, d],
      )?.id ?? null
    );
  }

  /** Forget a job: its row, events, metrics and checkpoint index, in one transaction (its files are the caller's). */
  deleteJob(id: string): void {
    transaction(this.db, () => {
      for (const table of ['events', 'metrics', 'checkpoints']) this.db.run(`DELETE FROM ${table} WHERE job_id = ?`, [id]);
      this.db.run('DELETE FROM jobs WHERE id = ?', [id]);
    });
    this.nextSeq.delete(id);
  }

  getJob(id: string): JobRecord | null {
    const row = this.db.get<JobRow>('SELECT * FROM jobs WHERE id = ?', [id]);
    return row ? toJob(row) : null;
  }

  /** Newest first; `before` (a job id) pages on: the jobs listed after it, so a job submitted meanwhile shifts nothing. */
  listJobs(options: { status?: JobStatus; limit: number; before?: string }): JobRecord[] {
    const where: string[] = [];
    const values: SqlValue[] = [];
    if (options.status) {
      where.push('status = ?');
      values.push(options.status);
    }
    if (options.before !== undefined) {
      where.push('(created_at, rowid) < (SELECT created_at, rowid FROM jobs WHERE id = ?)');
      values.push(options.before);
    }
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    return this.db.all<JobRow>(`SELECT * FROM jobs ${filter} ORDER BY created_at DESC, rowid DESC LIMIT ?`, [...values, options.limit]).map(toJob);
  }

  /** Jobs in a status, oldest in the queue first. */
  jobsWithStatus(status: JobStatus): JobRecord[] {
    return this.db.all<JobRow>('SELECT * FROM jobs WHERE status = ? ORDER BY queued_at, rowid', [status]).map(toJob);
  }

  countWithStatus(status: JobStatus): number {
    return this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM jobs WHERE status = ?', [status])!.n;
  }

  update(id: string, fields: JobUpdate): void {
    const sets: string[] = ['updated_at = ?'];
    const values: SqlValue[] = [now()];
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'queued') {
        sets.push('queued_at = ?');
        values.push(now());
        continue;
      }
      sets.push(`${COLUMNS[key as keyof typeof COLUMNS]} = ?`);
      values.push(typeof value === 'number' ? finite(value) : (value as SqlValue));
    }
    this.db.run(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`, [...values, id]);
  }

  /** Append an event (and apply `update` to the job row in the same transaction); returns it with its sequence number. */
  appendEvent(id: string, type: string, data: Record<string, unknown>, update?: JobUpdate): StoredEvent {
    return transaction(this.db, () => {
      const seq = this.takeSeq(id);
      const at = now();
      this.db.run('INSERT INTO events (job_id, seq, type, data, at) VALUES (?, ?, ?, ?, ?)', [id, seq, type, JSON.stringify(data), at]);
      if (update) this.update(id, update);
      return { seq, type, data, at };
    });
  }

  eventsAfter(id: string, seq: number): StoredEvent[] {
    return this.db
      .all<{ seq: number; type: string; data: string; at: string }>('SELECT seq, type, data, at FROM events WHERE job_id = ? AND seq > ? ORDER BY seq', [id, seq])
      .map((r) => ({ seq: r.seq, type: r.type, data: JSON.parse(r.data), at: r.at }));
  }

  /** The data of a job's status events, oldest first. */
  statusEvents(id: string): Record<string, unknown>[] {
    return this.eventsOfType(id, 'status');
  }

  /** The data of a job's events of one type, oldest first. */
  eventsOfType(id: string, type: string): Record<string, unknown>[] {
    return this.db
      .all<{ data: string }>('SELECT data FROM events WHERE job_id = ? AND type = ? ORDER BY seq', [id, type])
      .map((r) => JSON.parse(r.data));
  }

  insertMetric(id: string, m: { stage: number; step: number; globalStep: number; loss?: number; lr?: number; gradNorm?: number; tokens?: number; heldOutLoss?: number }): void {
    this.db.run(
      'INSERT INTO metrics (job_id, stage, step, global_step, loss, lr, grad_norm, tokens, held_out_loss, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [id, m.stage, m.step, m.globalStep, finite(m.loss), finite(m.lr), finite(m.gradNorm), finite(m.tokens), finite(m.heldOutLoss), now()],
    );
  }

  /** The newest event's sequence number (0 before the first): an SSE follower starting after a read of the rest. */
  lastEventSeq(id: string): number {
    return this.db.get<{ n: number | null }>('SELECT MAX(seq) AS n FROM events WHERE job_id = ?', [id])?.n ?? 0;
  }

  metrics(id: string, limit: number): Record<string, number | string | null>[] {
    return this.db
      .all<Record<string, number | string | null>>(
        `SELECT stage, step, global_step AS globalStep, loss, lr, grad_norm AS gradNorm, tokens, held_out_loss AS heldOutLoss, at
         FROM metrics WHERE job_id = ? ORDER BY global_step DESC, rowid DESC LIMIT ?`,
        [id, limit],
      )
      .reverse();
  }

  insertCheckpoint(id: string, c: Omit<CheckpointRecord, 'at'>): void {
    this.db.run('INSERT OR REPLACE INTO checkpoints (job_id, stage, attempt, step, global_step, path, at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      id,
      c.stage,
      c.attempt,
      c.step,
      c.globalStep,
      c.path,
      now(),
    ]);
  }

  checkpoints(id: string): CheckpointRecord[] {
    return this.db.all<CheckpointRecord>(
      'SELECT stage, attempt, step, global_step AS globalStep, path, at FROM checkpoints WHERE job_id = ? ORDER BY stage, attempt, step',
      [id],
    );
  }

  close(): void {
    this.db.close();
  }

  private takeSeq(id: string): number {
    let next = this.nextSeq.get(id);
    if (next === undefined) next = (this.db.get<{ n: number | null }>('SELECT MAX(seq) AS n FROM events WHERE job_id = ?', [id])?.n ?? 0) + 1;
    this.nextSeq.set(id, next + 1);
    return next;
  }
}

function toJob(r: JobRow): JobRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    status: r.status as JobStatus,
    spec: JSON.parse(r.spec as string),
    runSpec: JSON.parse(r.run_spec as string) as AdmittedSpec,
    outDir: r.out_dir as string,
    totalSteps: r.total_steps as number,
    stageCount: r.stage_count as number,
    stage: r.stage as number,
    stageName: r.stage_name as string | null,
    attempt: r.attempt as number,
    step: r.step as number,
    parameters: r.parameters as number | null,
    loss: r.loss as number | null,
    heldOutLoss: r.held_out_loss as number | null,
    lr: r.lr as number | null,
    error: r.error as string | null,
    errorStep: r.error_step as number | null,
    errorPhase: r.error_phase as string | null,
    errorOp: r.error_op as string | null,
    runs: r.runs as number,
    cancelRequestedAt: r.cancel_requested_at as string | null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    startedAt: r.started_at as string | null,
    finishedAt: r.finished_at as string | null,
  };
}
