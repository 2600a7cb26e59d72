import { generate, type LoadedModel } from '@unilab/runner';
import { wilsonInterval } from '../stats/proportion.ts';
import type { InstructionExample, InstructionTask } from './instruction-task.ts';

/**
 * How often the model's greedy answer passes the task's verifier: the measure every alignment stage is judged by
 * (never a reward model's opinion). The answer is the greedy continuation of the prompt up to the stop token or
 * `maxTokens`, read as the response.
 */
export interface VerifierSuccess {
  task: string;
  correct: number;
  n: number;
  rate: number;
  ci95: { low: number; high: number };
}

export async function verifierSuccess(loaded: LoadedModel, task: InstructionTask, examples: readonly InstructionExample[], maxTokens: number): Promise<VerifierSuccess> {
  if (examples.length === 0) throw new Error(`verifier success on ${task.name}: no examples`);
  let correct = 0;
  for (const e of examples) {
    const answer = await generate(loaded, e.prompt, { maxTokens, seed: 0, temperature: 0, topK: 0, topP: 1 });
    if (task.verify(e.prompt, answer)) correct++;
  }
  const [low, high] = wilsonInterval(correct, examples.length);
  return { task: task.name, correct, n: examples.length, rate: correct / examples.length, ci95: { low, high } };
}
