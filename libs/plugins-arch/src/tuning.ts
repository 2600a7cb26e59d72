import type { ModelEnvironment, TuningModules } from '@unilab/core';
import { Rng } from '@unilab/core';

/**
 * The fine-tuning modules a model is built with (ModelEnvironment.tuning) and the random stream that initialises
 * them. The stream is their own (seeded from the spec's seed), so a model with LoRA or adapters draws its pre-trained
 * weights exactly as one without them: the checkpoint fills those anyway, but a test can build both and compare.
 */
export interface ModelTuning {
  modules: TuningModules;
  rng: Rng;
}

export function modelTuning(env: ModelEnvironment): ModelTuning | undefined {
  return env.tuning ? { modules: env.tuning, rng: new Rng(env.tuning.seed) } : undefined;
}
