import type { PluginRegistry } from '@unilab/core';
import { loadModel } from '@unilab/runner';
import { scoringModel, type ScoringModel } from './scoring.ts';

/**
 * A checkpoint ready to score: the model, its tokenizer and backend, and how its objective taught it to read
 * prompts. A missing, truncated or foreign file is refused by the checkpoint reader with its path.
 */
export async function loadScoringModel(path: string, registry: PluginRegistry): Promise<ScoringModel> {
  return scoringModel(await loadModel(path, registry), registry);
}
