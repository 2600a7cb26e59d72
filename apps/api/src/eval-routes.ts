import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { SpecError } from '@unilab/core';
import { SUITE_NAMES, type SuiteName } from '@unilab/eval';
import type { EvalRecord } from './eval-store.ts';
import type { EvalService } from './evals.ts';
import { JobConflictError, JobNotFoundError } from './jobs.ts';
import type { JobStore } from './store.ts';

export interface EvalRoutesContext {
  store: JobStore;
  evals: EvalService;
  /** The newest checkpoint of a job still on disk. */
  checkpointOf(jobId: string): string | null;
}

const MAX_BODY_BYTES = 1024;

/**
 * POST /v1/jobs/:id/eval `{ "suite": "default" | "quick" }` queues an evaluation of a finished job's newest
 * checkpoint (202); GET /v1/jobs/:id/eval lists the job's evaluations, each with its report once completed. Both sit
 * under /v1/jobs/*, behind the API's bearer token.
 */
export function registerEvalRoutes(app: Hono, ctx: EvalRoutesContext): void {
  const limit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: { type: 'invalid_request_error', message: `request body larger than ${MAX_BODY_BYTES} bytes`, path: 'body' } }, 413) });

  app.post('/v1/jobs/:id/eval', limit, async (c) => {
    const job = ctx.store.getJob(c.req.param('id'));
    if (!job) throw new JobNotFoundError(c.req.param('id'));
    const suite = parseSuite(await c.req.text());
    if (job.status === 'queued' || job.status === 'running') throw new JobConflictError(`job ${job.id} is ${job.status}; evaluate it once it has finished`);
    const checkpoint = ctx.checkpointOf(job.id);
    if (!checkpoint) throw new JobConflictError(`job ${job.id} (${job.status}) has no checkpoint to evaluate`);
    return c.json(presentEval(ctx.evals.submit(job.id, suite, checkpoint)), 202, { Location: `/v1/jobs/${job.id}/eval` });
  });

  app.get('/v1/jobs/:id/eval', (c) => {
    const job = ctx.store.getJob(c.req.param('id'));
    if (!job) throw new JobNotFoundError(c.req.param('id'));
    return c.json({ evals: ctx.evals.forJob(job.id).map(presentEval) });
  });
}

/** The suite named by the body (`default` when the body is empty), refused with `body.suite` otherwise. */
function parseSuite(text: string): SuiteName {
  if (text.trim() === '') return 'default';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new SpecError('body', `malformed JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SpecError('body', 'expected a JSON object like { "suite": "quick" }');
  const extra = Object.keys(body).filter((k) => k !== 'suite');
  if (extra.length > 0) throw new SpecError(`body.${extra[0]}`, 'unknown field; the only field is "suite"');
  const suite = (body as { suite?: unknown }).suite ?? 'default';
  if (typeof suite !== 'string' || !(SUITE_NAMES as readonly string[]).includes(suite))
    throw new SpecError('body.suite', `expected one of ${SUITE_NAMES.join(', ')}, got ${JSON.stringify(suite)}`);
  return suite as SuiteName;
}

function presentEval(e: EvalRecord) {
  return {
    job: e.jobId,
    suite: e.suite,
    status: e.status,
    checkpoint: e.checkpoint,
    error: e.error,
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    report: e.report,
  };
}
