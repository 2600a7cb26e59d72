import { jsonSchemaOf } from '@unilab/core';
import { jobStageSchema, objectiveSpecSchema, trainingSpecSchema } from '@unilab/runner';

/** The OpenAPI 3.1 description served at /openapi.json. */
const trainingSpec = jsonSchemaOf(trainingSpecSchema);
const stage = jsonSchemaOf(jobStageSchema);
const error = { $ref: '#/components/responses/Error' };
const unauthorized = { $ref: '#/components/responses/Unauthorized' };
const crossSite = { $ref: '#/components/responses/CrossSite' };
const notJson = { $ref: '#/components/responses/NotJson' };
const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const jobResponse = { description: 'The job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } };
const secured = [{ bearer: [] }];

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'unilab job API',
    version: '0.1.0',
    description:
      'Submit training jobs (single or multi-stage) and alignment jobs (SFT, reward model, PPO, DPO), follow them live over Server-Sent Events, cancel and resume them, ' +
      'and sample from the trained model with an OpenAI-compatible completions endpoint. Routes that change state or ' +
      'read job data need `Authorization: Bearer <token>`. They also refuse what a web page in a browser could send: ' +
      'a `Host` that is not an address the server listens on (DNS rebinding) or an `Origin` other than its own and ' +
      'the configured `allowedOrigins` (403), and a body not declared `Content-Type: application/json` (415). ' +
      'Paths in responses are relative to the server data directory.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    responses: {
      Error: {
        description: 'The request was refused; `path` names the bad field (e.g. `spec.train.lr`) and `message` says what is allowed',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      Unauthorized: { description: 'Missing or wrong bearer token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      CrossSite: {
        description: 'A cross-site request: `path` is `header.Host` (not an address the server listens on), `header.Origin` (not its own origin or one in allowedOrigins) or `header.Sec-Fetch-Site`',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      NotJson: { description: 'A body not declared `Content-Type: application/json` (`path`: `header.Content-Type`)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
    schemas: {
      Error: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            required: ['type', 'message'],
            properties: { type: { type: 'string' }, message: { type: 'string' }, path: { type: 'string' } },
          },
        },
      },
      // Generated from the schemas that parse a spec (libs/runner spec.ts and job-spec.ts): what the document says a
      // spec may hold is what the server accepts, fields, bounds and defaults included.
      JobSpec: {
        ...trainingSpec,
        description:
          'A training spec (name, seed, backend, precision, data, model, objective, train, outDir, samplePrompts), optionally with `stages` (then `train.steps` is ' +
          "each stage's own). Corpus paths, shards and outDir resolve inside the server data directory; \"sotu\" and \"brown\" are bundled corpora.",
        properties: {
          ...(trainingSpec.properties as Record<string, unknown>),
          objective: { $ref: '#/components/schemas/Objective' },
          stages: { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/Stage' } },
        },
      },
      Objective: {
        ...jsonSchemaOf(objectiveSpecSchema),
        description:
          'One objective plugin with its config, or a mixture of objectives: each batch comes whole from one component, ' +
          'drawn with probability weight / sum of weights by a seeded RNG (resume is exact). Every component must support the ' +
          "model's architecture; the tokenizer reserves every component's special tokens.",
      },
      Stage: {
        ...stage,
        description: 'A stage: its budget (exactly one of steps or tokens), and what it changes of the job: data, objective, train overrides (all but steps), a gate.',
        properties: { ...(stage.properties as Record<string, unknown>), objective: { $ref: '#/components/schemas/Objective' } },
      },
      AlignmentJobSpec: {
        type: 'object',
        description:
          'An alignment job (`kind: "align"`): stages sft → rm → ppo (InstructGPT) or sft → dpo (also sft alone, sft → rm) on a finished job\'s model. ' +
          'Each stage may add LoRA or adapters (`tuning`) and a gate on its held-out figures (sft: heldOutNll <=, verifierSuccess >=; rm: heldOutAccuracy >=; ' +
          'dpo: heldOutLoss <=, heldOutAccuracy >=, heldOutMargin >=, verifierSuccess >=; ppo: kl <=, reward >=, verifierSuccess >=). ' +
          'Data: the generated instruction/preference set of `unilab align data`, or JSONL files inside the data directory. See apps/api/README.md.',
        required: ['kind', 'base', 'data', 'stages'],
        properties: {
          kind: { const: 'align' },
          name: { type: 'string' },
          seed: { type: 'integer' },
          base: {
            description: 'the model to align: a completed (or gate-stopped) job, resolved to its newest checkpoint at submission, or a checkpoint file',
            oneOf: [
              { type: 'object', required: ['job'], properties: { job: { type: 'string' } } },
              { type: 'object', required: ['checkpoint'], properties: { checkpoint: { type: 'string' } } },
            ],
          },
          data: {
            oneOf: [
              {
                type: 'object',
                required: ['generate'],
                properties: {
                  generate: {
                    type: 'object',
                    properties: {
                      tasks: { type: 'array', items: { enum: ['copy', 'reverse', 'nth-word', 'cloze', 'genre'] } },
                      train: { type: 'integer', description: 'examples per task' },
                      heldOut: { type: 'integer' },
                      noise: { type: 'number', description: 'share of training comparisons flipped' },
                      seed: { type: 'integer' },
                    },
                  },
                },
              },
              {
                type: 'object',
                required: ['files'],
                properties: {
                  files: {
                    type: 'object',
                    description: 'JSONL inside the data directory: sft {"prompt","response"} lines, pairs {"prompt","chosen","rejected"} lines',
                    properties: {
                      sft: { type: 'object', required: ['train', 'heldOut'], properties: { train: { type: 'string' }, heldOut: { type: 'string' } } },
                      pairs: { type: 'object', required: ['train', 'heldOut'], properties: { train: { type: 'string' }, heldOut: { type: 'string' } } },
                    },
                  },
                },
              },
            ],
          },
          checkpointEvery: { type: 'integer', description: 'steps between checkpoints within a stage (one is always written at its end)' },
          evaluation: { type: 'object', properties: { verifierExamples: { type: 'integer' }, maxTokens: { type: 'integer' } } },
          stages: {
            type: 'array',
            items: {
              type: 'object',
              required: ['kind'],
              description:
                'sft: lr, epochs, batchSize, weightDecay, warmupFraction. rm: lr, epochs, batchSize, weightDecay, pooling (last | mean). ' +
                'dpo: beta, lr, epochs, batchSize, weightDecay. ppo: iterations, rolloutsPerIteration, maxTokens, epochs, minibatchSize, lr, weightDecay, ' +
                'clip, valueClip, valueCoef, gamma, lambda, kl { kind: adaptive | fixed, beta, target, horizon }, klBudget, normalizeReward, reward (reward-model | verifier).',
              properties: {
                kind: { enum: ['sft', 'rm', 'dpo', 'ppo'] },
                tuning: {
                  type: 'object',
                  properties: {
                    method: { enum: ['full', 'lora', 'adapter'] },
                    rank: { type: 'integer' },
                    alpha: { type: 'number' },
                    targets: {
                      type: 'array',
                      items: { type: 'string' },
                      description:
                        'projections LoRA adapts, by role (query, key, value, output, ffn-gate, ffn-up, ffn-down, cross-query, cross-key, cross-value, cross-output) or by the base architecture\'s names for them (the built-ins: wq, wk, wv, wo, w_gate, w_up, w_down, cross_wq ... cross_wo); default query and value',
                    },
                    size: { type: 'integer' },
                    norms: { type: 'boolean' },
                  },
                },
                gate: {
                  type: 'object',
                  required: ['metric', 'threshold', 'action'],
                  properties: { metric: { type: 'string' }, threshold: { type: 'number' }, action: { enum: ['continue', 'retry', 'stop'] }, maxRetries: { type: 'integer' } },
                },
              },
            },
          },
          outDir: { type: 'string' },
        },
      },
      Job: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          status: { enum: ['queued', 'running', 'completed', 'stopped', 'failed', 'cancelled', 'interrupted'] },
          stage: { type: 'object', properties: { index: { type: 'integer' }, name: { type: 'string' }, attempt: { type: 'integer' }, count: { type: 'integer' } } },
          step: { type: 'integer' },
          totalSteps: { type: 'integer' },
          metrics: { type: 'object', properties: { loss: { type: 'number' }, heldOutLoss: { type: 'number' }, lr: { type: 'number' } } },
          parameters: { type: 'integer' },
          error: {
            type: 'object',
            description: 'why the job failed; for a diverged job the job step, the phase (forward, backward) and the first op that produced NaN/inf',
            properties: { message: { type: 'string' }, step: { type: 'integer' }, phase: { type: 'string' }, op: { type: 'string' } },
          },
          createdAt: { type: 'string' },
          startedAt: { type: 'string' },
          finishedAt: { type: 'string' },
          spec: { oneOf: [{ $ref: '#/components/schemas/JobSpec' }, { $ref: '#/components/schemas/AlignmentJobSpec' }] },
          results: {
            type: 'array',
            description: 'GET /v1/jobs/{id} only: each finished stage as its stage-complete event gave it (pre-training: heldOutLoss, trainLoss; alignment: figures), with its checkpoint',
            items: { type: 'object' },
          },
        },
      },
    },
  },
  paths: {
    '/': { get: { summary: 'The web dashboard (public; it asks for the token before calling the job routes)', responses: { 200: { description: 'HTML' }, 503: { description: 'The dashboard is not built' } } } },
    '/healthz': { get: { summary: 'Liveness: answers at once even while jobs train', responses: { 200: { description: 'ok' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/v1/plugins': { get: { summary: 'Architectures and objectives a spec can name, with their config schemas', responses: { 200: { description: 'plugins' } } } },
    '/v1/jobs': {
      post: {
        summary: 'Submit a job',
        security: secured,
        description: 'A training spec, or an alignment spec (`kind: "align"`).',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/JobSpec' }, { $ref: '#/components/schemas/AlignmentJobSpec' }] } } },
        },
        responses: {
          201: jobResponse,
          400: error,
          401: unauthorized,
          403: crossSite,
          409: { description: 'spec.outDir is (inside, or around) another job\'s output directory', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          413: error,
          415: notJson,
          429: error,
        },
      },
      get: {
        summary: 'List jobs, newest first',
        security: secured,
        parameters: [
          { name: 'status', in: 'query', schema: { type: 'string' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 1000 } },
          { name: 'before', in: 'query', description: 'A job id: list the jobs after it (the previous page\'s `next`)', schema: { type: 'string' } },
        ],
        responses: { 200: { description: '{ jobs: Job[], next: the id to pass as `before` for the next page, or null on the last }' }, 400: error, 401: unauthorized, 403: crossSite },
      },
    },
    '/v1/jobs/{id}': {
      get: { summary: 'Status, stage, step and latest metrics', security: secured, parameters: [jobId], responses: { 200: jobResponse, 401: unauthorized, 403: crossSite, 404: error } },
      delete: {
        summary: 'Delete a job that is not running or queued: its record, events, metrics and its directory with every checkpoint',
        security: secured,
        parameters: [jobId],
        responses: {
          200: { description: '{ id, object: "job", deleted: true }' },
          401: unauthorized,
          403: crossSite,
          404: error,
          409: { description: 'The job is running or queued: cancel it first', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      },
    },
    '/v1/jobs/{id}/events': {
      get: {
        summary: 'Server-Sent Events: status, stage, start, step, eval, checkpoint, checkpoint-skipped, gate, stage-complete, cancel-requested; ends when the job finishes',
        description: 'Each event has an id (its sequence number in the job); reconnecting with Last-Event-ID (header, or ?lastEventId=) resumes after it.',
        security: secured,
        parameters: [jobId, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
        responses: { 200: { description: 'text/event-stream' }, 401: unauthorized, 403: crossSite, 404: error },
      },
    },
    '/v1/jobs/{id}/cancel': {
      post: {
        summary: 'Cancel: a running job stops after its current step with a checkpoint, or has its worker terminated after cancelGraceMs; the request is stored, so a restart does not resume the job',
        security: secured,
        parameters: [jobId],
        responses: { 202: jobResponse, 401: unauthorized, 403: crossSite, 404: error, 409: error, 415: notJson },
      },
    },
    '/v1/jobs/{id}/resume': {
      post: {
        summary: 'Resume an interrupted, cancelled or failed job from its newest intact checkpoint',
        security: secured,
        parameters: [jobId],
        responses: { 202: jobResponse, 401: unauthorized, 403: crossSite, 404: error, 409: error, 415: notJson },
      },
    },
    '/v1/jobs/{id}/checkpoints': { get: { summary: 'The checkpoint index of a job', security: secured, parameters: [jobId], responses: { 200: { description: '{ checkpoints }' }, 401: unauthorized, 403: crossSite, 404: error } } },
    '/v1/jobs/{id}/metrics': {
      get: {
        summary: 'Training and held-out loss, lr, gradient norm and tokens by step (the newest `limit` rows, or the whole curve downsampled to about `points`)',
        security: secured,
        parameters: [
          jobId,
          { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100000 } },
          { name: 'points', in: 'query', description: 'Downsample the whole curve: each run of steps keeps its lowest and highest loss, every evaluation is kept', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
        ],
        responses: { 200: { description: '{ metrics, lastEventId: the newest event id at the read (follow the event stream from it) }' }, 400: error, 401: unauthorized, 403: crossSite, 404: error },
      },
    },
    '/v1/jobs/{id}/eval': {
      post: {
        summary: "Evaluate a finished job's newest checkpoint: bits per byte, mode-wise NLL, few-shot tasks, each with n, 95% CI and chance",
        security: secured,
        parameters: [jobId],
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { suite: { enum: ['default', 'quick'], default: 'default' } }, additionalProperties: false } } } },
        responses: { 202: { description: 'The evaluation, queued' }, 400: error, 401: unauthorized, 403: crossSite, 404: error, 409: error, 415: notJson },
      },
      get: { summary: "The job's evaluations, each with its report (the JSON of `unilab eval --json`) once completed", security: secured, parameters: [jobId], responses: { 200: { description: '{ evals }' }, 401: unauthorized, 403: crossSite, 404: error } },
    },
    '/v1/models': { get: { summary: 'Jobs with a checkpoint, as OpenAI models', security: secured, responses: { 200: { description: '{ object: "list", data }' }, 401: unauthorized, 403: crossSite } } },
    '/v1/completions': {
      post: {
        summary:
          'OpenAI-compatible text completion from a job\'s newest checkpoint (model = job id); prompts x n x max_tokens is capped ' +
          '(400 names maxCompletionTokensPerRequest), requests beyond maxCompletionRequests get 429, a closed connection stops sampling',
        security: secured,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['model', 'prompt'],
                properties: {
                  model: { type: 'string' },
                  prompt: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
                  max_tokens: { type: 'integer' },
                  temperature: { type: 'number' },
                  top_p: { type: 'number' },
                  top_k: { type: 'integer' },
                  n: { type: 'integer' },
                  stop: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
                  seed: { type: 'integer' },
                  mode: { type: 'string', description: "UL2's paradigm token leading the input (NLU, NLG, S2S), for models trained with mode tokens" },
                },
              },
            },
          },
        },
        responses: {
          200: { description: 'text_completion' },
          400: { description: 'A bad field, or a job with no intact checkpoint (damaged ones are skipped, each with a checkpoint-skipped event)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          401: unauthorized,
          403: crossSite,
          404: error,
          413: error,
          415: notJson,
          429: error,
        },
      },
    },
  },
} as const;
