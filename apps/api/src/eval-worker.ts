import type { PluginRegistry } from '@unilab/core';
import { loadScoringModel, runEvalSuite } from '@unilab/eval';
import type { FromWorker, ToWorker } from './worker-protocol.ts';

/** The worker's side of an evaluation: load the checkpoint, run the suite, report (or say what went wrong). */
export async function evaluateCheckpoint(message: Extract<ToWorker, { type: 'evaluate' }>, registry: () => Promise<PluginRegistry>): Promise<FromWorker> {
  try {
    const model = await loadScoringModel(message.checkpoint, await registry());
    return { type: 'evaluated', report: await runEvalSuite(model, message.suite, { checkpoint: message.checkpoint }) };
  } catch (err) {
    return { type: 'evaluate-failed', message: (err as Error).message };
  }
}
