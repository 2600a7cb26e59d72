import type { ContinuationLayout, PluginRegistry } from '@unilab/core';
import {
  continuationRow,
  describeLayout,
  encodePrompt,
  generationLayout,
  modelPresentation,
  objectiveLabel,
  TargetTooLongError,
  type ContinuationRow,
  type LoadedModel,
  type ModelPresentation,
  type Presented,
  type Prompt,
} from '@unilab/runner';
import { rowLogProbs, type RowScoringOptions, type TokenQuery } from './row-log-probs.ts';

/** A loaded checkpoint with the way its objective(s) taught it to read prompts. */
export interface ScoringModel extends LoadedModel {
  presentation: ModelPresentation;
}

/** Kinds of continuation task (UL2's reading): `lm` continues a text, `seq2seq` maps an input to a target. */
export type ContinuationTask = 'lm' | 'seq2seq';

/** The model with its inference presentation, declared by the objectives its spec trained (loadModel attaches it). */
export function scoringModel(loaded: Omit<LoadedModel, 'presentation'> & { presentation?: ModelPresentation }, registry: PluginRegistry): ScoringModel {
  return { ...loaded, presentation: loaded.presentation ?? modelPresentation(loaded.spec.model.architecture, loaded.spec.objective, registry, loaded.tokenizer) };
}

/** The layout a task uses on this model, or an error saying why the model cannot do the task. */
export function continuationFormat(model: ScoringModel, task: ContinuationTask): Presented<ContinuationLayout> {
  const chosen = model.presentation[task];
  if (chosen) return chosen;
  throw new Error(
    `cannot score ${task === 'lm' ? 'continuations' : 'seq2seq targets'} with the ${model.model.architecture} model trained by ${objectiveLabel(model.spec.objective)}: ` +
      `no objective it trained declares how it reads such a prompt (a masked LM only fills in masked tokens)`,
  );
}

export interface ScoringOptions extends RowScoringOptions {
  /**
   * UL2's paradigm (NLU, NLG, S2S) to score under, for models trained with mode tokens: the mode's token leads the
   * input, as generation's `--mode` lays it out. Default: the task's own layout (UL2: [S2S]).
   */
  mode?: string;
}

/** Token-level request: the target's tokens are scored given the input's. */
export interface TokenScoringRequest {
  input: readonly number[];
  target: readonly number[];
}

/** Summed log-probability of a target (nats), its token count, and lm-evaluation-harness's `is_greedy`. */
export interface TargetScore {
  logProb: number;
  tokens: number;
  /** Every target token is the model's most likely token at its place. */
  greedy: boolean;
  /** Log-probability of each target token. */
  tokenLogProbs: number[];
  /** Input tokens cut from the left to fit the model's training length. */
  droppedInput: number;
}

/**
 * The scoring primitive: log p(target | input) for each request, summed over the target's tokens, with the model
 * reading the input the way its training objective presented inputs (presentation.ts; e.g. causal for CLM, a
 * bidirectional prefix ended by eos for prefix LM, the encoder for an encoder-decoder, [gMASK] and Part B for GLM,
 * [S2S] for UL2). Layouts that read targets as next tokens score a whole target in one row (teacher forcing);
 * UniLM's cloze layout asks one [MASK] query per target token. Forward passes record no gradients.
 */
export async function scoreTargets(
  model: ScoringModel,
  task: ContinuationTask,
  requests: readonly TokenScoringRequest[],
  options: ScoringOptions = {},
): Promise<TargetScore[]> {
  const format = options.mode === undefined ? continuationFormat(model, task) : generationLayout(model, options.mode);
  const rows: ContinuationRow[] = [];
  const queries: TokenQuery[][] = [];
  /** For each request, the rows that score it. */
  const owners: number[][] = [];
  /** The row for the first `k` target tokens; a target too long is named with its request and its full length. */
  const rowFor = (r: number, input: readonly number[], target: readonly number[], k: number) => {
    try {
      return continuationRow(format, input, target.slice(0, k), model.seqLen);
    } catch (error) {
      if (!(error instanceof TargetTooLongError)) throw error;
      throw new Error(`requests[${r}]: a target of ${target.length} tokens does not fit the model's length ${error.maxLength} in ${error.layout}`);
    }
  };
  requests.forEach(({ input, target }, r) => {
    if (target.length === 0) throw new Error(`requests[${r}]: the target is empty; there is nothing to score`);
    const row = rowFor(r, input, target, target.length - 1);
    if (row.perTokenTargets) {
      const first = row.next - (target.length - 1);
      owners.push([rows.length]);
      rows.push(row);
      queries.push(target.map((token, k) => ({ position: first + k, token })));
      return;
    }
    owners.push([]);
    for (let k = 0; k < target.length; k++) {
      const query = rowFor(r, input, target, k);
      owners[r].push(rows.length);
      rows.push(query);
      queries.push([{ position: query.next, token: target[k] }]);
    }
  });
  const scored = await rowLogProbs(model, rows, queries, options);
  return owners.map((owned, r) => {
    const tokens = owned.flatMap((i) => scored[i]);
    return {
      logProb: tokens.reduce((s, t) => s + t.logProb, 0),
      tokens: tokens.length,
      greedy: tokens.every((t) => t.greedy),
      tokenLogProbs: tokens.map((t) => t.logProb),
      droppedInput: Math.max(...owned.map((i) => rows[i].droppedInput)),
    };
  });
}

/** A request in text: the context and the continuation whose log-likelihood is wanted. */
export interface LoglikelihoodRequest {
  context: Prompt;
  continuation: Prompt;
}

/**
 * lm-evaluation-harness's `loglikelihood` over text: context and continuation are encoded separately (special
 * tokens only where a PromptPart names one) and the continuation scored with scoreTargets.
 */
export async function loglikelihoods(
  model: ScoringModel,
  task: ContinuationTask,
  requests: readonly LoglikelihoodRequest[],
  options: ScoringOptions = {},
): Promise<TargetScore[]> {
  const tokenRequests = requests.map((r, i) => ({
    input: encodePrompt(model.tokenizer, r.context, `requests[${i}].context`),
    target: encodePrompt(model.tokenizer, r.continuation, `requests[${i}].continuation`),
  }));
  return scoreTargets(model, task, tokenRequests, options);
}

/** One line saying how a task's prompts are laid out for this model (for reports), under a UL2 mode if one is given. */
export function describeContinuationFormat(model: ScoringModel, task: ContinuationTask, mode?: string): string {
  return describeLayout(mode === undefined ? continuationFormat(model, task) : generationLayout(model, mode));
}
