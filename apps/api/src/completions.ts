import { SpecError } from '@unilab/core';
import type { ServerConfig } from './config.ts';
import type { Generation, GenerationRequest, WorkerHandle } from './worker-protocol.ts';

/** An OpenAI-style completion request (POST /v1/completions), validated; `model` is a job id. */
export interface CompletionRequest {
  model: string;
  prompts: string[];
  n: number;
  options: GenerationRequest;
}

const MAX_PROMPT_CHARS = 65_536;

type CompletionLimits = Pick<ServerConfig, 'maxCompletionTokens' | 'maxCompletionTokensPerRequest'>;

/**
 * Validate the fields of the OpenAI completions API that this server implements (model, prompt, max_tokens,
 * temperature, top_p, n, stop, seed, plus top_k and UL2's `mode`). Other fields OpenAI clients may send are ignored,
 * as OpenAI does for fields a model does not use. Errors name the field as `body.<field>`. The work a request asks
 * for, prompts x n x max_tokens sampled tokens, is bounded by maxCompletionTokensPerRequest.
 */
export function parseCompletionRequest(body: unknown, limits: CompletionLimits): CompletionRequest {
  const { maxCompletionTokens, maxCompletionTokensPerRequest } = limits;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SpecError('body', 'expected a JSON object');
  const b = body as Record<string, unknown>;
  const num = (key: string, fallback: number, ok: (v: number) => boolean, allowed: string): number => {
    const v = b[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new SpecError(`body.${key}`, `expected ${allowed}, got ${JSON.stringify(v)}`);
    return v;
  };
  if (typeof b.model !== 'string' || b.model === '') throw new SpecError('body.model', 'expected the id of a job (see GET /v1/models)');
  const prompt = b.prompt ?? '';
  const prompts = typeof prompt === 'string' ? [prompt] : prompt;
  if (!Array.isArray(prompts) || prompts.length === 0 || prompts.some((p) => typeof p !== 'string' || p.length > MAX_PROMPT_CHARS))
    throw new SpecError('body.prompt', `expected a string or a non-empty list of strings of at most ${MAX_PROMPT_CHARS} characters`);
  const stop = b.stop ?? [];
  const stops = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || stops.length > 4 || stops.some((s) => typeof s !== 'string' || s === ''))
    throw new SpecError('body.stop', 'expected a string or a list of at most 4 non-empty strings');
  const mode = b.mode;
  if (mode !== undefined && (typeof mode !== 'string' || !/^[A-Za-z0-9]{1,16}$/.test(mode)))
    throw new SpecError('body.mode', `expected a UL2 paradigm name such as "NLU", "NLG" or "S2S", got ${JSON.stringify(mode)}`);
  const isInt = Number.isInteger;
  const request: CompletionRequest = {
    model: b.model,
    prompts: prompts as string[],
    n: num('n', 1, (v) => isInt(v) && v >= 1 && v <= 8, 'an integer from 1 to 8'),
    options: {
      maxTokens: num('max_tokens', 16, (v) => isInt(v) && v >= 1 && v <= maxCompletionTokens, `an integer from 1 to ${maxCompletionTokens}`),
      temperature: num('temperature', 1, (v) => v >= 0 && v <= 2, 'a number from 0 to 2 (0 is greedy)'),
      topP: num('top_p', 1, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
      topK: num('top_k', 0, (v) => isInt(v) && v >= 0, 'a non-negative integer (0 keeps every token)'),
      seed: num('seed', 0, (v) => isInt(v) && v >= 0 && v < 2 ** 31, 'an integer from 0 to 2^31 - 1'),
      stop: stops as string[],
      ...(mode === undefined ? {} : { mode }),
    },
  };
  const tokens = request.prompts.length * request.n * request.options.maxTokens;
  if (tokens > maxCompletionTokensPerRequest)
    throw new SpecError(
      // Too many prompts even at one token each: the prompt list is what to shorten.
      request.prompts.length * request.n > maxCompletionTokensPerRequest ? 'body.prompt' : 'body.max_tokens',
      `${request.prompts.length} prompts x n ${request.n} x max_tokens ${request.options.maxTokens} = ${tokens} tokens to sample; ` +
        `this server allows at most ${maxCompletionTokensPerRequest} per request (maxCompletionTokensPerRequest)`,
    );
  return request;
}

/** The choices of one completion request and its token counts (OpenAI's `usage`). */
export interface Completion {
  choices: { text: string; index: number; logprobs: null; finish_reason: Generation['finishReason'] }[];
  promptTokens: number;
  completionTokens: number;
}

/** The client went away before its completion was done. */
export class CompletionCancelledError extends Error {}

/** The checkpoint asked for does not read back intact; an older one of the same job may. */
export class DamagedCheckpointError extends Error {}

/**
 * Sampling runs in one long-lived inference worker (models stay loaded there), so a long generation never blocks
 * the server's event loop, its other routes or the job workers. A request whose client goes away stops at the next
 * token. A crashed worker fails its pending requests and is replaced on the next request.
 */
export class CompletionService {
  private worker: WorkerHandle | null = null;
  /** Generations posted to the worker that it has not answered yet (a cancelled one stays until it stops). */
  private readonly pending = new Map<number, { resolve(g: Generation): void; reject(e: Error): void }>();
  private nextId = 1;
  private requests = 0;

  constructor(
    private readonly startWorker: () => WorkerHandle,
    private readonly pluginConfig: string | null,
  ) {}

  /** Completion requests being served (each waits for the one worker in turn). */
  get requestsInFlight(): number {
    return this.requests;
  }

  /** Generations the inference worker is running or has queued. */
  get generationsInFlight(): number {
    return this.pending.size;
  }

  /** Every prompt n times, one generation after another; stops issuing (and stops the current one) once `signal` aborts. */
  async complete(checkpoint: string, request: CompletionRequest, signal?: AbortSignal): Promise<Completion> {
    this.requests++;
    try {
      const completion: Completion = { choices: [], promptTokens: 0, completionTokens: 0 };
      for (const [p, prompt] of request.prompts.entries()) {
        for (let k = 0; k < request.n; k++) {
          const g = await this.generate(checkpoint, prompt, { ...request.options, seed: request.options.seed + k }, signal);
          completion.choices.push({ text: g.text, index: p * request.n + k, logprobs: null, finish_reason: g.finishReason });
          if (k === 0) completion.promptTokens += g.promptTokens;
          completion.completionTokens += g.completionTokens;
        }
      }
      return completion;
    } finally {
      this.requests--;
    }
  }

  generate(checkpoint: string, prompt: string, options: GenerationRequest, signal?: AbortSignal): Promise<Generation> {
    if (signal?.aborted) return Promise.reject(new CompletionCancelledError('the client closed the request'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const cancelled = new Int32Array(new SharedArrayBuffer(4));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        Atomics.store(cancelled, 0, 1);
        reject(new CompletionCancelledError('the client closed the request'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settled = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (g) => (settled(), resolve(g)),
        reject: (e) => (settled(), reject(e)),
      });
      worker.post({ type: 'generate', id, checkpoint, prompt, options, cancelled, pluginConfig: this.pluginConfig });
    });
  }

  async close(): Promise<void> {
    this.failAll(new Error('the server is shutting down'));
    await this.worker?.terminate();
    this.worker = null;
  }

  private ensureWorker(): WorkerHandle {
    if (this.worker) return this.worker;
    const worker = this.startWorker();
    worker.onMessage((m) => {
      if (m.type !== 'generated' && m.type !== 'generate-failed') return;
      const request = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.type === 'generated') request?.resolve(m.generation);
      // An option the model cannot honour (a UL2 mode it lacks) is the request's fault: a 400 naming the field.
      else request?.reject(m.badOption ? new SpecError(`body.${m.badOption}`, m.message) : m.damagedCheckpoint ? new DamagedCheckpointError(m.message) : new Error(m.message));
    });
    worker.onCrash((err) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(new Error(`the inference worker died: ${err.message}`));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
  }
}
