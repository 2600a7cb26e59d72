import type { ReadProblem } from '@unilab/data';

/** What a run knows once its model, data and optimizer are ready (the `start` event). */
export interface RunInfo {
  parameters: number;
  vocabSize: number;
  trainTokens: number;
  heldOutTokens: number;
  unigramEntropy: number;
  /** Corpus records the reader dropped or refused, by reason (empty for a prepared dataset). */
  dropped: Record<string, number>;
  /** The first of them, with file (relative to the corpus) and line. */
  problems: ReadProblem[];
  startStep: number;
  /** The checkpoint a resumed run continued from. */
  resumedFrom: string | null;
  /** Training FLOPs per optimizer step, padding included (null for a plugin package's architecture). */
  flopsPerStep: number | null;
  /** Decoder (or only) positions per row, and an encoder-decoder's encoder positions. */
  rows: { seqLen: number; encoderLen?: number };
}

/**
 * What a training run reports as it goes, in the shape a job's event log keeps: a staged job (run-stages.ts) passes
 * each on with where it happened in the job (job-events.ts), and the CLI, the API's store and its SSE stream read
 * that one shape. `step` is the run's own step when the event happened.
 */
export type RunEvent =
  | ({ type: 'start' } & RunInfo)
  | { type: 'step'; step: number; loss: number; lr: number; gradNorm: number; tokens: number }
  | { type: 'eval'; step: number; heldOutLoss: number }
  | { type: 'checkpoint'; step: number; path: string };
