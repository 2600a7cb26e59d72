import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { SpecError, type PluginRegistry } from '@unilab/core';
import { isAlignmentSpec } from '@unilab/eval';
import { admitJob, pretrainingAdmission } from './admission.ts';
import { admitAlignmentJob } from './align-admission.ts';
import { CompletionCancelledError, DamagedCheckpointError, parseCompletionRequest, type Completion, type CompletionRequest, type CompletionService } from './completions.ts';
import type { ServerConfig } from './config.ts';
import { crossSiteGuard } from './cross-site.ts';
import { serveDashboard } from './dashboard.ts';
import { registerEvalRoutes } from './eval-routes.ts';
import type { EvalService } from './evals.ts';
import type { JobQueue } from './job-queue.ts';
import { JobConflictError, JobNotFoundError } from './jobs.ts';
import { downsampleMetrics } from './metric-downsampling.ts';
import { openApiDocument } from './openapi.ts';
import { FINISHED, OutDirTakenError, type JobRecord, type JobStatus, type JobStore, type StoredEvent } from './store.ts';

export interface AppContext {
  config: ServerConfig;
  store: JobStore;
  /** The queue backend: embedded (this process's workers) or Redis (workers on any machine). */
  jobs: JobQueue;
  completions: CompletionService;
  /** Evaluations of finished jobs' checkpoints (eval-routes.ts). */
  evals: EvalService;
  registry: PluginRegistry;
  /** "node" or "deno", reported by /healthz. */
  runtime: string;
  /** The data directory's real path (the runtime adapter resolves it), hidden from responses like its given name. */
  dataDirRealPath: string;
  /** Whether a file exists (a checkpoint the store lists may have been pruned): the adapter's file system. */
  fileExists(path: string): boolean;
}

/** A refusal with an HTTP status; the body is `{ error: { type, message, path? } }` like every error here. */
class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 429 | 500,
    readonly type: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const errorBody = (type: string, message: string, path?: string) => ({ error: { type, message, ...(path && { path }) } });

const STATUSES: readonly JobStatus[] = ['queued', 'running', 'completed', 'stopped', 'failed', 'cancelled', 'interrupted'];
const HEARTBEAT_MS = 15_000;

/**
 * The whole HTTP API as one Hono app over web-standard Request/Response. It never touches a runtime directly:
 * the store, the job manager (workers) and the completion service are handed in by the runtime adapter.
 */
export function createApp(ctx: AppContext): Hono {
  const { config, store, jobs, completions, evals, registry, fileExists } = ctx;
  const app = new Hono();
  /** Checkpoints the inference worker found damaged: completions and /v1/models pass over them. */
  const damaged = new Set<string>();

  // Responses name files relative to the data directory (a checkpoint is jobs/<id>/checkpoints/step-….safetensors):
  // where the server keeps its data is no client's business. JSON bodies here, event streams in followJob.
  const hidePaths = dataDirHider(config.dataDir, ctx.dataDirRealPath);
  installResponseHandling(app, hidePaths);
  const { auth, limitBody } = requestGuards(config);

  app.get('/healthz', (c) =>
    c.json({
      status: 'ok',
      runtime: ctx.runtime,
      jobs: { backend: jobs.backend, running: jobs.runningCount, queued: store.countWithStatus('queued') },
      completions: { requests: completions.requestsInFlight, generations: completions.generationsInFlight },
    }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  app.get('/v1/plugins', (c) =>
    c.json({
      plugins: registry.list().map((p) => ({
        kind: p.kind,
        name: p.name,
        description: p.description,
        config: p.configSchema.describe,
        ...(p.kind === 'objective' && { produces: p.produces, architectures: registry.pairedArchitectures(p), specialTokens: p.specialTokens }),
        ...(p.kind === 'positional-encoding' && { positionDims: p.positionDims, architectures: registry.pairedArchitectures(p) }),
        ...(p.kind === 'architecture' && { consumes: p.consumes }),
      })),
    }),
  );

  // Every route that changes or reads job data: first refuse what a web page could send (cross-site.ts), then
  // answer allowed origins' CORS preflights, then ask for the token.
  const guard = crossSiteGuard(config);
  const allowOrigins = config.allowedOrigins.length > 0 ? cors({ origin: config.allowedOrigins, allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'], exposeHeaders: ['Location'] }) : null;
  for (const route of ['/v1/jobs', '/v1/jobs/*', '/v1/models', '/v1/completions']) {
    app.use(route, guard);
    if (allowOrigins) app.use(route, allowOrigins);
    app.use(route, auth);
  }

  app.post('/v1/jobs', limitBody(config.maxBodyBytes), async (c) => {
    if (store.countWithStatus('queued') >= config.maxQueuedJobs)
      throw new ApiError(429, 'rate_limit_error', `the queue is full (${config.maxQueuedJobs} jobs waiting); try again later`);
    const spec = await readJson(c);
    const id = `job_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
    // `kind: "align"`: an alignment job on a finished job's model (align-admission.ts); any other spec pre-trains.
    const admitted = isAlignmentSpec(spec)
      ? await admitAlignmentJob(spec, id, registry, config, finishedModelOf)
      : pretrainingAdmission(await admitJob(spec, id, registry, config));
    return c.json(presentJob(await jobs.submit(id, spec, admitted), true), 201, { Location: `/v1/jobs/${id}` });
  });

  /** The model an alignment job starts from: a completed (or gate-stopped) job's newest intact checkpoint. */
  function finishedModelOf(jobId: string): string {
    const job = store.getJob(jobId);
    if (!job) throw new SpecError('spec.base.job', `no job with id ${JSON.stringify(jobId)}`);
    if (job.status !== 'completed' && job.status !== 'stopped')
      throw new SpecError('spec.base.job', `job ${jobId} is ${job.status}; align the model of a completed (or gate-stopped) job`);
    const checkpoint = latestCheckpoint(store, jobId, damaged, fileExists);
    if (!checkpoint) throw new SpecError('spec.base.job', `job ${jobId} has no intact checkpoint on disk`);
    return checkpoint;
  }

  registerJobRoutes(app, { store, jobs, evals, damaged, fileExists });

  app.get('/v1/jobs/:id/events', (c) => {
    const job = requireJob(store, c.req.param('id'));
    const lastId = Number(c.req.header('Last-Event-ID') ?? c.req.query('lastEventId') ?? 0);
    if (!Number.isInteger(lastId) || lastId < 0) throw new SpecError('header.Last-Event-ID', 'expected a non-negative integer event id');
    return streamSSE(c, (stream) => followJob({ store, jobs, hidePaths }, job.id, lastId, stream));
  });

  serveDashboard(app, { tokenRequired: Boolean(config.token) });
  registerEvalRoutes(app, { store, evals, checkpointOf: (id) => latestCheckpoint(store, id, damaged, fileExists) });
  registerCompletionRoutes(app, { config, store, jobs, completions, damaged, fileExists, limitBody });

  return app;
}

/** Listing, reading, cancelling, resuming and deleting jobs, and their checkpoints and metrics. */
function registerJobRoutes(
  app: Hono,
  deps: { store: JobStore; jobs: JobQueue; evals: EvalService; damaged: Set<string>; fileExists(path: string): boolean },
): void {
  const { store, jobs, evals, damaged, fileExists } = deps;
  app.get('/v1/jobs', (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !STATUSES.includes(status as JobStatus))
      throw new SpecError('query.status', `expected one of ${STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
    const limit = intQuery(c, 'limit', 100, 1000);
    const before = c.req.query('before');
    if (before !== undefined && !store.getJob(before)) throw new SpecError('query.before', `no job with id ${JSON.stringify(before)}; pass the \`next\` of the previous page`);
    const page = store.listJobs({ status: status as JobStatus | undefined, limit, before });
    return c.json({ jobs: page.map((j) => presentJob(j, false)), next: page.length === limit ? page[page.length - 1].id : null });
  });

  // With `results`: what each finished stage measured (its stage-complete event: held-out figures, its checkpoint).
  app.get('/v1/jobs/:id', (c) => {
    const job = requireJob(store, c.req.param('id'));
    return c.json({ ...presentJob(job, true), results: store.eventsOfType(job.id, 'stage-complete') });
  });

  app.post('/v1/jobs/:id/cancel', async (c) => c.json(presentJob(await jobs.cancel(c.req.param('id')), true), 202));
  app.post('/v1/jobs/:id/resume', async (c) => c.json(presentJob(await jobs.resume(c.req.param('id')), true), 202));

  app.delete('/v1/jobs/:id', async (c) => {
    const id = c.req.param('id');
    const paths = store.checkpoints(id).map((k) => k.path);
    requireJob(store, id);
    evals.forgetJob(id);
    await jobs.remove(id);
    for (const path of paths) damaged.delete(path);
    return c.json({ id, object: 'job', deleted: true });
  });

  app.get('/v1/jobs/:id/checkpoints', (c) => {
    const job = requireJob(store, c.req.param('id'));
    return c.json({ checkpoints: store.checkpoints(job.id).map((k) => ({ ...k, available: fileExists(k.path) })) });
  });

  app.get('/v1/jobs/:id/metrics', (c) => {
    const job = requireJob(store, c.req.param('id'));
    const points = intQuery(c, 'points', 0, 10_000);
    // Read first: an SSE follower that starts after this id misses nothing the rows below lack.
    const lastEventId = store.lastEventSeq(job.id);
    // Downsampled, the answer stays small however long the job: read its whole curve (a 10^6-step job's limit).
    const rows = store.metrics(job.id, points > 0 ? intQuery(c, 'limit', 2_000_000, 2_000_000) : intQuery(c, 'limit', 1000, 100_000));
    return c.json({ metrics: points > 0 ? downsampleMetrics(rows, points) : rows, lastEventId });
  });
}

/**
 * Every response: JSON bodies name files relative to the data directory; refusals become `{ error: { type, message,
 * path? } }` with their status; a bug answers 500 without the paths in its message.
 */
function installResponseHandling(app: Hono, hidePaths: (text: string) => string): void {
  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.get('content-type')?.startsWith('application/json')) return;
    const text = await c.res.text();
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(hidePaths(text), { status: c.res.status, headers });
  });

  app.onError((err, c) => {
    if (err instanceof SpecError) return c.json(errorBody('invalid_request_error', err.message, err.path), 400);
    if (err instanceof ApiError) return c.json(errorBody(err.type, err.message, err.path), err.status);
    if (err instanceof JobNotFoundError) return c.json(errorBody('not_found', err.message), 404);
    if (err instanceof JobConflictError) return c.json(errorBody('conflict', err.message), 409);
    if (err instanceof OutDirTakenError) return c.json(errorBody('conflict', err.message, 'spec.outDir'), 409);
    if (err instanceof HTTPException) return err.getResponse();
    // Nobody reads this answer: the client has gone.
    if (err instanceof CompletionCancelledError) return c.json(errorBody('request_cancelled', err.message), 400);
    console.error('unilab api:', err);
    // A bug, not a refusal: the message helps a report, the paths in it (outside the data directory too) do not.
    return c.json(errorBody('server_error', hidePaths((err as Error).message).replace(/(?:\/[\w.@+-]+){2,}/g, '<path>')), 500);
  });
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}; see /openapi.json`), 404));
}

/** The bearer-token check (when the server has a token) and a request-body size limit, as middleware. */
function requestGuards(config: ServerConfig): { auth: MiddlewareHandler; limitBody: (maxSize: number) => MiddlewareHandler } {
  const auth: MiddlewareHandler = config.token
    ? bearerAuth({
        token: config.token,
        noAuthenticationHeader: { message: errorBody('authentication_error', 'missing Authorization: Bearer <token> header') },
        invalidAuthenticationHeader: { message: errorBody('authentication_error', 'malformed Authorization header; expected Bearer <token>') },
        invalidToken: { message: errorBody('authentication_error', 'wrong bearer token') },
      })
    : async (_c, next) => next();
  const limitBody = (maxSize: number): MiddlewareHandler =>
    bodyLimit({ maxSize, onError: (c) => c.json(errorBody('invalid_request_error', `request body larger than ${maxSize} bytes`, 'body'), 413) });
  return { auth, limitBody };
}

/** What a job's event stream reads: the stored log, the live events, and the path hider of JSON bodies. */
interface EventStreamDeps {
  store: JobStore;
  jobs: JobQueue;
  hidePaths(text: string): string;
}

/**
 * Replay the stored events after `lastId`, then pass live ones on until the job finishes (or the client goes, or
 * the server closes). Listening starts before the replay and sequence numbers drop duplicates, so no event falls
 * between the two.
 */
async function followJob(deps: EventStreamDeps, id: string, lastId: number, stream: SSEStreamingApi): Promise<void> {
const { store, jobs, hidePaths } = deps;
  const live: StoredEvent[] = [];
  let ended = false;
  let wake = () => {};
  const unsubscribe = jobs.subscribe(id, (event) => {
    if (event) live.push(event);
    else ended = true;
    wake();
  });
  stream.onAbort(() => {
    ended = true;
    wake();
  });
  let last = lastId;
  /** Send one event (unless already sent); true when it finished the job. */
  const send = async (e: StoredEvent): Promise<boolean> => {
    if (e.seq <= last) return false;
    last = e.seq;
    await stream.writeSSE({ id: String(e.seq), event: e.type, data: hidePaths(JSON.stringify({ ...e.data, at: e.at })) });
    return e.type === 'status' && FINISHED.includes(e.data.status as JobStatus);
  };
  try {
    // The log may hold earlier finishes (a cancelled job resumed later): only the job's current state ends the stream.
    for (const e of store.eventsAfter(id, last)) await send(e);
    if (FINISHED.includes(store.getJob(id)!.status)) {
      for (const e of live.splice(0)) await send(e);
      return;
    }
    while (!ended) {
      if (live.length === 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, HEARTBEAT_MS);
        });
        clearTimeout(timer);
        if (live.length === 0 && !ended) await stream.write(': heartbeat\n\n');
      }
      for (const e of live.splice(0)) if (await send(e)) return;
    }
  } finally {
    unsubscribe();
  }
}

/** What the completion routes share with the app: the services, the damaged-checkpoint set, the body limit. */
interface CompletionDeps {
  config: ServerConfig;
  store: JobStore;
  jobs: JobQueue;
  completions: CompletionService;
  damaged: Set<string>;
  fileExists(path: string): boolean;
  limitBody(maxSize: number): MiddlewareHandler;
}

/** OpenAI-style /v1/models (jobs with an intact checkpoint) and /v1/completions (from a job's newest one). */
function registerCompletionRoutes(app: Hono, deps: CompletionDeps): void {
  const { config, store, jobs, completions, damaged, fileExists, limitBody } = deps;
  app.get('/v1/models', (c) => {
    const data = store
      .listJobs({ limit: 1000 })
      .filter((job) => latestCheckpoint(store, job.id, damaged, fileExists) !== null)
      .map((job) => ({ id: job.id, object: 'model', created: Math.floor(Date.parse(job.createdAt) / 1000), owned_by: 'unilab', name: job.name, status: job.status }));
    return c.json({ object: 'list', data });
  });

  app.post('/v1/completions', limitBody(256 * 1024), async (c) => {
    const request = parseCompletionRequest(await readJson(c), config);
    const job = store.getJob(request.model);
    if (!job) throw new ApiError(404, 'not_found', `no job with id ${JSON.stringify(request.model)}; models are job ids (GET /v1/models)`, 'body.model');
    if (!latestCheckpoint(store, job.id, damaged, fileExists)) throw noIntactCheckpoint(job);
    if (completions.requestsInFlight >= config.maxCompletionRequests)
      throw new ApiError(429, 'rate_limit_error', `${completions.requestsInFlight} completion requests are being served, the most this server takes (maxCompletionRequests); try again later`);
    // The request's signal aborts when the client disconnects: sampling stops at the next token.
    const completion = await completeFromNewest(job, request, c.req.raw.signal);
    const { promptTokens, completionTokens } = completion;
    return c.json({
      id: `cmpl-${crypto.randomUUID().replace(/-/g, '')}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: job.id,
      choices: completion.choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  });

  /**
   * Complete from the newest checkpoint of a job that reads back intact. A damaged one (truncated, checksum mismatch)
   * fails the request's first generation; it is skipped for good, with a `checkpoint-skipped` event on the job, and
   * the request starts again from the one before it.
   */
  async function completeFromNewest(job: JobRecord, request: CompletionRequest, signal: AbortSignal): Promise<Completion> {
    for (;;) {
      const checkpoint = latestCheckpoint(store, job.id, damaged, fileExists);
      if (!checkpoint) throw noIntactCheckpoint(job);
      try {
        return await completions.complete(checkpoint, request, signal);
      } catch (err) {
        if (!(err instanceof DamagedCheckpointError)) throw err;
        damaged.add(checkpoint);
        const record = store.checkpoints(job.id).find((k) => k.path === checkpoint);
        jobs.checkpointSkipped(job.id, { step: record?.globalStep ?? null, path: checkpoint, reason: err.message, by: 'completions' });
      }
    }
  }

  function noIntactCheckpoint(job: JobRecord): ApiError {
    const onDisk = store.checkpoints(job.id).filter((k) => fileExists(k.path));
    const why =
      onDisk.length === 0
        ? `has no checkpoint yet (it is ${job.status})`
        : `has no intact checkpoint: the ${onDisk.length} on disk (steps ${onDisk.map((k) => k.globalStep).join(', ')}) are all damaged; see its checkpoint-skipped events`;
    return new ApiError(400, 'invalid_request_error', `job ${job.id} ${why}`, 'body.model');
  }
}

/** Turn paths inside the data directory into paths relative to it (under its given and its real name). */
function dataDirHider(dataDir: string, real: string): (text: string) => string {
  const names = [...new Set([dataDir, real])].map((d) => JSON.stringify(d).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const inside = new RegExp(`(?:${names.join('|')})/`, 'g');
  const itself = new RegExp(`(?:${names.join('|')})(?![\\w.-])`, 'g');
  return (text) => text.replace(inside, '').replace(itself, '<data directory>');
}

/** Deeper than any spec or request needs, shallow enough that no recursive walk of the value overflows the stack. */
const MAX_JSON_DEPTH = 64;

/** The JSON body, or a 400 naming `body` for anything that is not JSON (or nested too deep to walk). */
async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw new SpecError('body', 'expected a JSON object, got an empty body');
  const tooDeep = nestingBeyond(text, MAX_JSON_DEPTH);
  if (tooDeep !== null) throw new SpecError('body', `JSON nested more than ${MAX_JSON_DEPTH} levels deep (at character ${tooDeep + 1}); a spec needs fewer than 10`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SpecError('body', `malformed JSON: ${(err as Error).message}`);
  }
}

/** The offset of the first bracket that opens level `max + 1` of a JSON text (brackets inside strings do not count). */
function nestingBeyond(text: string, max: number): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return i;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return null;
}

function intQuery(c: Context, name: string, fallback: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new SpecError(`query.${name}`, `expected an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function requireJob(store: JobStore, id: string): JobRecord {
  const job = store.getJob(id);
  if (!job) throw new JobNotFoundError(id);
  return job;
}

/** The most recently written checkpoint of a job still on disk and not known to be damaged (the runner keeps the last few of each stage). */
function latestCheckpoint(store: JobStore, id: string, damaged: ReadonlySet<string>, exists: (path: string) => boolean): string | null {
  const all = store.checkpoints(id).sort((a, b) => a.at.localeCompare(b.at) || a.globalStep - b.globalStep);
  for (let i = all.length - 1; i >= 0; i--) if (!damaged.has(all[i].path) && exists(all[i].path)) return all[i].path;
  return null;
}

function presentJob(job: JobRecord, detail: boolean) {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    stage: { index: job.stage, name: job.stageName, attempt: job.attempt, count: job.stageCount },
    step: job.step,
    totalSteps: job.totalSteps,
    metrics: { loss: job.loss, heldOutLoss: job.heldOutLoss, lr: job.lr },
    parameters: job.parameters,
    error: job.error ? { message: job.error, step: job.errorStep, phase: job.errorPhase, op: job.errorOp } : null,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    ...(detail && { spec: job.spec }),
  };
}
