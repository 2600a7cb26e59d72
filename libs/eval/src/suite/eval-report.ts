import type { LikelihoodReport } from '../report.ts';
import type { Proportion } from '../stats/proportion.ts';
import type { SuiteName } from './suite-config.ts';

/**
 * What `unilab eval` prints and writes, and what the API stores with a job: every figure with its sample size, its
 * 95% interval and the chance level beside it. Per-item outcomes are kept so two models evaluated on the same suite
 * can be compared item by item (comparePaired).
 */
export interface EvalReport {
  format: 'unilab-eval/1';
  suite: SuiteName;
  checkpoint: string;
  model: { architecture: string; objective: string; seqLen: number; vocabSize: number; parameters: number };
  /** Bits per byte per domain and mode-wise NLL; null with the reason when the model cannot continue text. */
  likelihood: LikelihoodReport | null;
  /** Few-shot tasks; null with the reason when the model cannot score a continuation. */
  fewShot: FewShotSection | null;
  /** Why a section is null. */
  skipped: { likelihood?: string; fewShot?: string };
  seconds: number;
}

export interface FewShotSection {
  /** How prompts were read: the task kind and the model's layout for it (e.g. "seq2seq: causal: input target ..."). */
  reading: string;
  results: FewShotFigure[];
  /** Tasks left out whole, with the reason (a choice longer than the model's window): every model that takes a task
   * answers the same items, so figures compare. */
  skippedTasks: { task: string; reason: string }[];
}

export interface FewShotFigure {
  task: string;
  description: string;
  shots: number;
  n: number;
  acc: Proportion;
  accNorm: Proportion;
  chance: number;
  /** Prompts cut from the left to fit the model's window. */
  truncated: number;
  /** 1 where the item was answered right (acc), in test order. */
  correct: number[];
  /** The same for acc_norm. */
  correctNorm: number[];
}
