import { existsSync } from 'node:fs';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { SpecError, type PluginRegistry } from '@unilab/core';
import { admitJob } from './admission.ts';
import { parseCompletionRequest, type CompletionService } from './completions.ts';
import type { ServerConfig } from './config.ts';
import { registerEvalRoutes } from './eval-routes.ts';
import type { EvalService } from './evals.ts';
import { JobConflictError, JobNotFoundError, type JobManager } from './jobs.ts';
import { openApiDocument } from './openapi.ts';
import { FINISHED, type JobRecord, type JobStatus, type JobStore, type StoredEvent } from './store.ts';

export interface AppContext {
  config: ServerConfig;
  store: JobStore;
  jobs: JobManager;
  completions: CompletionService;
  /** Evaluations of finished jobs' checkpoints (eval-routes.ts). */
  evals: EvalService;
  registry: PluginRegistry;
  /** "node" or "deno", reported by /healthz. */
  runtime: string;
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
  const { config, store, jobs, completions, evals, registry } = ctx;
  const app = new Hono();

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

  app.onError((err, c) => {
    if (err instanceof SpecError) return c.json(errorBody('invalid_request_error', err.message, err.path), 400);
    if (err instanceof ApiError) return c.json(errorBody(err.type, err.message, err.path), err.status);
    if (err instanceof JobNotFoundError) return c.json(errorBody('not_found', err.message), 404);
    if (err instanceof JobConflictError) return c.json(errorBody('conflict', err.message), 409);
    if (err instanceof HTTPException) return err.getResponse();
    console.error('unilab api:', err);
    return c.json(errorBody('server_error', (err as Error).message), 500);
  });
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}; see /openapi.json`), 404));

  app.get('/healthz', (c) =>
    c.json({ status: 'ok', runtime: ctx.runtime, jobs: { running: jobs.runningCount, queued: store.countWithStatus('queued') } }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  app.get('/v1/plugins', (c) =>
    c.json({
      plugins: registry.list().map((p) => ({
        kind: p.kind,
        name: p.name,
        description: p.description,
        config: p.configSchema.describe,
        ...(p.kind === 'objective' && { architectures: p.architectures, specialTokens: p.specialTokens }),
      })),
    }),
  );

  app.use('/v1/jobs', auth);
  app.use('/v1/jobs/*', auth);
  app.use('/v1/models', auth);
  app.use('/v1/completions', auth);

  app.post('/v1/jobs', limitBody(config.maxBodyBytes), async (c) => {
    if (store.countWithStatus('queued') >= config.maxQueuedJobs)
      throw new ApiError(429, 'rate_limit_error', `the queue is full (${config.maxQueuedJobs} jobs waiting); try again later`);
    const spec = await readJson(c);
    const id = `job_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const admitted = await admitJob(spec, id, registry, config);
    return c.json(presentJob(jobs.submit(id, spec, admitted), true), 201, { Location: `/v1/jobs/${id}` });
  });

  app.get('/v1/jobs', (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !STATUSES.includes(status as JobStatus))
      throw new SpecError('query.status', `expected one of ${STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
    const limit = intQuery(c, 'limit', 100, 1000);
    return c.json({ jobs: store.listJobs({ status: status as JobStatus | undefined, limit }).map((j) => presentJob(j, false)) });
  });

  app.get('/v1/jobs/:id', (c) => c.json(presentJob(requireJob(store, c.req.param('id')), true)));

  app.post('/v1/jobs/:id/cancel', (c) => c.json(presentJob(jobs.cancel(c.req.param('id')), true), 202));
  app.post('/v1/jobs/:id/resume', (c) => c.json(presentJob(jobs.resume(c.req.param('id')), true), 202));

  app.get('/v1/jobs/:id/checkpoints', (c) => {
    const job = requireJob(store, c.req.param('id'));
    return c.json({ checkpoints: store.checkpoints(job.id).map((k) => ({ ...k, available: existsSync(k.path) })) });
  });

  app.get('/v1/jobs/:id/metrics', (c) => {
    const job = requireJob(store, c.req.param('id'));
    return c.json({ metrics: store.metrics(job.id, intQuery(c, 'limit', 1000, 100_000)) });
  });

  app.get('/v1/jobs/:id/events', (c) => {
    const job = requireJob(store, c.req.param('id'));
    const lastId = Number(c.req.header('Last-Event-ID') ?? c.req.query('lastEventId') ?? 0);
    if (!Number.isInteger(lastId) || lastId < 0) throw new SpecError('header.Last-Event-ID', 'expected a non-negative integer event id');
    return streamSSE(c, (stream) => followJob(job.id, lastId, stream));
  });

  /**
   * Replay the stored events after `lastId`, then pass live ones on until the job finishes (or the client goes, or
   * the server closes). Listening starts before the replay and sequence numbers drop duplicates, so no event falls
   * between the two.
   */
  async function followJob(id: string, lastId: number, stream: SSEStreamingApi): Promise<void> {
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
      await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify({ ...e.data, at: e.at }) });
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

  registerEvalRoutes(app, { store, evals, checkpointOf: (id) => latestCheckpoint(store, id) });

  app.get('/v1/models', (c) => {
    const data = store
      .listJobs({ limit: 1000 })
      .filter((job) => latestCheckpoint(store, job.id) !== null)
      .map((job) => ({ id: job.id, object: 'model', created: Math.floor(Date.parse(job.createdAt) / 1000), owned_by: 'unilab', name: job.name, status: job.status }));
    return c.json({ object: 'list', data });
  });

  app.post('/v1/completions', limitBody(256 * 1024), async (c) => {
    const request = parseCompletionRequest(await readJson(c), config.maxCompletionTokens);
    const job = store.getJob(request.model);
    if (!job) throw new ApiError(404, 'not_found', `no job with id ${JSON.stringify(request.model)}; models are job ids (GET /v1/models)`, 'body.model');
    const checkpoint = latestCheckpoint(store, job.id);
    if (!checkpoint) throw new ApiError(400, 'invalid_request_error', `job ${job.id} has no checkpoint yet (it is ${job.status})`, 'body.model');
    const choices = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (const [p, prompt] of request.prompts.entries()) {
      for (let k = 0; k < request.n; k++) {
        const g = await completions.generate(checkpoint, prompt, { ...request.options, seed: request.options.seed + k });
        choices.push({ text: g.text, index: p * request.n + k, logprobs: null, finish_reason: g.finishReason });
        if (k === 0) promptTokens += g.promptTokens;
        completionTokens += g.completionTokens;
      }
    }
    return c.json({
      id: `cmpl-${crypto.randomUUID().replace(/-/g, '')}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: job.id,
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  });

  return app;
}

/** The JSON body, or a 400 naming `body` for anything that is not JSON. */
async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw new SpecError('body', 'expected a JSON object, got an empty body');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SpecError('body', `malformed JSON: ${(err as Error).message}`);
  }
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

/** The most recently written checkpoint of a job still on disk (the runner keeps the last few of each stage). */
function latestCheckpoint(store: JobStore, id: string): string | null {
  const all = store.checkpoints(id).sort((a, b) => a.at.localeCompare(b.at) || a.globalStep - b.globalStep);
  for (let i = all.length - 1; i >= 0; i--) if (existsSync(all[i].path)) return all[i].path;
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
