import type { Backend, PluginRegistry } from '@unilab/core';
import { loadModel } from '@unilab/runner';
import { scoringModel, type ScoringModel } from './scoring.ts';

/**
 * A checkpoint ready to score: the model, its tokenizer and backend, and how its objective taught it to read
 * prompts. A missing, truncated or foreign file is refused by the checkpoint reader with its path. `backend`: as
 * loadModel's (a sweep scores every cell on one).
 */
export async function loadScoringModel(path: string, registry: PluginRegistry, backend?: Backend): Promise<ScoringModel> {
  return scoringModel(await loadModel(path, registry, backend), registry);
}
