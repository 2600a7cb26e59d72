import type { AlignmentJobEvent, AlignmentJobOutcome, EvalReport, SuiteName } from '@unilab/eval';
import type { DivergencePhase, JobEvent, JobOutcome } from '@unilab/runner';
import type { AdmittedSpec } from './admitted-spec.ts';

/**
 * Messages between the server and its workers (structured-clone plain data, the same under worker_threads and Web
 * Workers). A job worker trains one job and exits; the inference worker stays up and serves completions.
 */
export type ToWorker =
  /** `spec` is the job's spec as admitted: parsed and resolved once, at submission (admitted-spec.ts). */
  | { type: 'train'; jobId: string; spec: AdmittedSpec; outDir: string; resume: boolean; pluginConfig: string | null }
  | { type: 'cancel' }
  /**
   * `cancelled` is one Int32 over a SharedArrayBuffer that the server sets to 1 when the client goes away: sampling
   * does not yield to the worker's message loop between tokens, so a message could not stop it, shared memory can.
   */
  | { type: 'generate'; id: number; checkpoint: string; prompt: string; options: GenerationRequest; cancelled: Int32Array; pluginConfig: string | null }
  | { type: 'evaluate'; checkpoint: string; suite: SuiteName; pluginConfig: string | null };

export interface GenerationRequest {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stop: readonly string[];
  /** UL2's paradigm token that leads the input (NLU, NLG, S2S), for models trained with mode tokens. */
  mode?: string;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

export type FromWorker =
  | { type: 'event'; event: JobEvent | AlignmentJobEvent }
  | { type: 'done'; outcome: JobOutcome | AlignmentJobOutcome }
  /** A diverged job: the job step, the phase and the first op that produced a non-finite value (ops.ts name). */
  | { type: 'failed'; message: string; step: number | null; phase: DivergencePhase | null; op: string | null }
  | { type: 'generated'; id: number; generation: Generation }
  /** `damagedCheckpoint`: the checkpoint does not read back intact (truncated, checksum mismatch), so another may. */
  | { type: 'generate-failed'; id: number; message: string; damagedCheckpoint: boolean; badOption: 'mode' | null }
  | { type: 'evaluated'; report: EvalReport }
  | { type: 'evaluate-failed'; message: string };

/** The server's side of one worker; each runtime adapter implements it. */
export interface WorkerHandle {
  post(message: ToWorker): void;
  /** Messages from the worker, in order. */
  onMessage(listener: (message: FromWorker) => void): void;
  /** The worker died (uncaught error, out of memory) rather than being terminated. */
  onCrash(listener: (error: Error) => void): void;
  terminate(): Promise<void>;
}

/** The worker's side of the channel; each runtime's worker entry implements it. */
export interface WorkerPort {
  post(message: FromWorker): void;
  onMessage(listener: (message: ToWorker) => void): void;
}
