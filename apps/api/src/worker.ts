import type { PluginRegistry } from '@unilab/core';
import { runAlignmentJob } from '@unilab/eval';
import { GenerationOptionError, TrainingDivergedError, createConfiguredRegistry, generate, loadModel, runStages, type LoadedModel } from '@unilab/runner';
import { ADMITTED_SPEC_VERSION, isAdmittedSpec } from './admitted-spec.ts';
import type { Generation, GenerationRequest, ToWorker, WorkerPort } from './worker-protocol.ts';
import { evaluateCheckpoint } from './eval-worker.ts';

/**
 * The body of every worker, runtime-agnostic: the Node and Deno entries only wire their message channel to this.
 * A `train` message runs one job's stages (a `cancel` stops it between steps, with a checkpoint); `generate`
 * messages sample from checkpoints, keeping the last few models loaded; an `evaluate` message runs the evaluation
 * suite on one checkpoint.
 */
export function serveWorker(port: WorkerPort): void {
  const controller = new AbortController();
  let registry: Promise<PluginRegistry> | undefined;
  const registryOf = (pluginConfig: string | null) => (registry ??= createConfiguredRegistry(pluginConfig));
  const models = new Map<string, Promise<LoadedModel>>();

  port.onMessage((message) => {
    if (message.type === 'cancel') controller.abort();
    else if (message.type === 'train') void train(message, controller.signal);
    else if (message.type === 'evaluate') void evaluateCheckpoint(message, () => registryOf(message.pluginConfig)).then((reply) => port.post(reply));
    else void complete(message);
  });

  async function train(message: Extract<ToWorker, { type: 'train' }>, signal: AbortSignal): Promise<void> {
    // Where the current stage starts on the job's step axis, to report a diverged stage step as a job step.
    let stageStart = 0;
    try {
      const common = {
        outDir: message.outDir,
        registry: await registryOf(message.pluginConfig),
        resume: message.resume,
        owner: message.jobId,
        signal,
      };
      const spec = message.spec;
      // The spec was parsed at admission; what crossed into this thread is checked for its form only (admitted-spec.ts).
      if (!isAdmittedSpec(spec))
        throw new Error(`job ${message.jobId}: its spec is not an admitted spec of form ${ADMITTED_SPEC_VERSION}; resubmit the job to a server of this version`);
      const outcome =
        spec.kind === 'align'
          ? await runAlignmentJob({ ...common, job: spec.job, base: spec.job.base.checkpoint, onEvent: (event) => port.post({ type: 'event', event }) })
          : await runStages({
              ...common,
              job: spec.job,
              onEvent: (event) => {
                if (event.type === 'stage') stageStart = event.globalStart;
                port.post({ type: 'event', event });
              },
            });
      port.post({ type: 'done', outcome });
    } catch (err) {
      const diverged = err instanceof TrainingDivergedError ? err : null;
      port.post({
        type: 'failed',
        message: (err as Error).message,
        step: diverged ? stageStart + diverged.step : null,
        phase: diverged?.phase ?? null,
        op: diverged?.op?.op ?? null,
      });
    }
  }

  async function complete(message: Extract<ToWorker, { type: 'generate' }>): Promise<void> {
    try {
      let model = models.get(message.checkpoint);
      if (!model) {
        model = loadModel(message.checkpoint, await registryOf(message.pluginConfig));
        models.set(message.checkpoint, model);
        model.catch(() => models.delete(message.checkpoint));
        // Keep the three most recently loaded models.
        for (const key of [...models.keys()].slice(0, -3)) models.delete(key);
      }
      const cancelled = message.cancelled;
      const signal = {
        get aborted() {
          return Atomics.load(cancelled, 0) !== 0;
        },
      };
      port.post({ type: 'generated', id: message.id, generation: await sample(await model, message.prompt, { ...message.options, signal }) });
    } catch (err) {
      const badOption = err instanceof GenerationOptionError ? err.option : null;
      port.post({ type: 'generate-failed', id: message.id, message: (err as Error).message, damagedCheckpoint: (err as Error).name === 'CheckpointFormatError', badOption });
    }
  }
}

async function sample(loaded: LoadedModel, prompt: string, options: GenerationRequest & { signal: Pick<AbortSignal, 'aborted'> }): Promise<Generation> {
  let text = await generate(loaded, prompt, options);
  // Token counts are re-encoded from the text: a stray byte decoded as U+FFFD re-encodes longer, hence the clamp.
  const count = (t: string) => Math.min(options.maxTokens, loaded.tokenizer.encode(t).length);
  let finishReason: Generation['finishReason'] = count(text) < options.maxTokens ? 'stop' : 'length';
  const cut = Math.min(...options.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0));
  if (Number.isFinite(cut)) {
    text = text.slice(0, cut);
    finishReason = 'stop';
  }
  return { text, finishReason, promptTokens: loaded.tokenizer.encode(prompt).length, completionTokens: count(text) };
}
