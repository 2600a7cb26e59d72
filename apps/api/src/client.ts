import type { AlignmentJobEvent } from '@unilab/eval';
import type { JobEvent } from '@unilab/runner';

/**
 * A small client of the job API over fetch (web-standard, so it runs on Node, Deno and in browsers): what
 * `unilab submit` and `unilab jobs` use, and the tests.
 */
export interface JobView {
  id: string;
  name: string;
  status: string;
  stage: { index: number; name: string | null; attempt: number; count: number };
  step: number;
  totalSteps: number;
  metrics: { loss: number | null; heldOutLoss: number | null; lr: number | null };
  parameters: number | null;
  error: { message: string; step: number | null; phase: string | null; op: string | null } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  spec?: unknown;
}

/** An evaluation of a job's checkpoint (POST/GET /v1/jobs/:id/eval); `report` is `unilab eval --json`'s report. */
export interface EvalView {
  job: string;
  suite: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  checkpoint: string;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  report: unknown;
}

export interface ServerSentEvent {
  id: string | null;
  event: string;
  data: string;
}

/** The events a job's queue writes itself: status changes, a cancel request, a damaged checkpoint passed over, a lost worker. */
export type QueueEvent =
  | { type: 'status'; status: string; message?: string }
  | { type: 'cancel-requested'; message: string }
  | { type: 'checkpoint-skipped'; step: number | null; path: string; reason: string; by: string }
  | { type: 'worker-lost'; worker: string; step: number; message: string };

/**
 * One event of a job's log, in the shape its run made it (runTraining's and the staged job's, or an alignment job's)
 * or its queue wrote it: the store keeps it, the SSE stream carries it (`event:` its type, `data:` the rest), and the
 * CLI reads the same type from a job in its own process or from a server.
 */
export type JobLogEvent = JobEvent | AlignmentJobEvent | QueueEvent;

/** A job's SSE event back in the shape its run made it, with when the server logged it. */
export function jobLogEvent(event: ServerSentEvent): JobLogEvent & { at?: string } {
  return { ...JSON.parse(event.data), type: event.event } as JobLogEvent & { at?: string };
}

/** A refused request: the HTTP status and the server's error (with the path of the bad field, when there is one). */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const FINISHED = ['completed', 'stopped', 'failed', 'cancelled'];

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  submit(spec: unknown): Promise<JobView> {
    return this.json('POST', '/v1/jobs', spec);
  }

  async jobs(status?: string): Promise<JobView[]> {
    return (await this.json<{ jobs: JobView[] }>('GET', `/v1/jobs${status ? `?status=${encodeURIComponent(status)}` : ''}`)).jobs;
  }

  job(id: string): Promise<JobView> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<JobView> {
    return this.json('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** A job's checkpoints in the order they were written (paths on the server's disk; `available` if still there). */
  async checkpoints(id: string): Promise<{ stage: number; attempt: number; step: number; globalStep: number; path: string; at: string; available: boolean }[]> {
    return (await this.json<{ checkpoints: any[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/checkpoints`)).checkpoints;
  }

  resume(id: string): Promise<JobView> {
    return this.json('POST', `/v1/jobs/${encodeURIComponent(id)}/resume`);
  }

  /** Delete a finished job and its files (the server refuses a running or queued one with 409). */
  delete(id: string): Promise<{ id: string; deleted: true }> {
    return this.json('DELETE', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  evaluate(id: string, suite: string): Promise<EvalView> {
    return this.json('POST', `/v1/jobs/${encodeURIComponent(id)}/eval`, { suite });
  }

  async evals(id: string): Promise<EvalView[]> {
    return (await this.json<{ evals: EvalView[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/eval`)).evals;
  }

  /**
   * Follow a job's events until it finishes: `onEvent` sees every event once, in order. A dropped connection (the
   * server restarting) is retried with Last-Event-ID, so nothing is missed or repeated; `after` starts after an event
   * id already seen (the `lastEventId` of a metrics read). Resolves with the job.
   */
  async follow(id: string, onEvent: (event: ServerSentEvent) => void, options: { signal?: AbortSignal; retries?: number; retryDelayMs?: number; after?: number } = {}): Promise<JobView> {
    let lastId = options.after ?? 0;
    let retries = options.retries ?? 30;
    for (;;) {
      try {
        const response = await this.fetch('GET', `/v1/jobs/${encodeURIComponent(id)}/events`, undefined, {
          signal: options.signal,
          headers: lastId > 0 ? { 'Last-Event-ID': String(lastId) } : {},
        });
        for await (const event of readServerSentEvents(response.body!)) {
          if (event.id !== null) lastId = Number(event.id);
          onEvent(event);
        }
        const job = await this.job(id);
        if (FINISHED.includes(job.status)) return job;
      } catch (err) {
        if (err instanceof ApiRequestError || options.signal?.aborted || retries-- <= 0) throw err;
      }
      await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 1000));
    }
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.fetch(method, path, body)).json()) as T;
  }

  async fetch(method: string, path: string, body?: unknown, init: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: init.signal,
    });
    if (!response.ok) {
      const text = await response.text();
      let error: { message?: string; path?: string } = {};
      try {
        error = JSON.parse(text).error ?? {};
      } catch {
        error = { message: text };
      }
      throw new ApiRequestError(response.status, error.message ?? response.statusText, error.path);
    }
    return response;
  }
}

/** Parse a text/event-stream body (the WHATWG SSE format: fields, blank line ends an event, `:` lines are comments). */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event: ServerSentEvent = { id: null, event: 'message', data: '' };
  let hasData = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (hasData) yield { ...event, data: event.data.replace(/\n$/, '') };
          event = { id: event.id, event: 'message', data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          event.data += value + '\n';
          hasData = true;
        } else if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
