import type { LikelihoodOptions } from '../report.ts';
import type { TaskSizes } from '../tasks/labelled-task.ts';

/**
 * The two suites. `default` is the study's measurement (minutes on 2 cores for a 0.5M-parameter model); `quick` is
 * the same measurement on small samples, for tests and sweeps (well under a minute), with intervals to match.
 */
export type SuiteName = 'default' | 'quick';
export const SUITE_NAMES: readonly SuiteName[] = ['default', 'quick'];

export interface SuiteConfig {
  name: SuiteName;
  /** Seeds the task splits and the shots. */
  seed: number;
  /** Bits per byte per held-out domain and mode-wise NLL (evaluateLikelihood). */
  likelihood: LikelihoodOptions;
  /** k of k-shot, GPT-3's 0, 1 and few. */
  shots: readonly number[];
  brownGenre: TaskSizes;
  sotuParty: TaskSizes;
  spamHam: TaskSizes;
  cloze: { train: number; test: number };
}

export const SUITES: Readonly<Record<SuiteName, SuiteConfig>> = {
  default: {
    name: 'default',
    seed: 1,
    likelihood: { resamples: 1000 },
    shots: [0, 1, 5],
    brownGenre: { trainPerLabel: 50, testPerLabel: 50 },
    sotuParty: { trainPerLabel: 50, testPerLabel: 100 },
    spamHam: { trainPerLabel: 50, testPerLabel: 100 },
    cloze: { train: 50, test: 200 },
  },
  quick: {
    name: 'quick',
    seed: 1,
    likelihood: {
      resamples: 200,
      domains: { sotuDocuments: 3, brownDocumentsPerGenre: 2, udhrLanguages: ['eng', 'fra', 'fin'], udhrPieces: 2, bytesPerDocument: 384 },
      modes: { piecesPerDocument: 1 },
    },
    shots: [0, 1, 5],
    brownGenre: { trainPerLabel: 5, testPerLabel: 8 },
    sotuParty: { trainPerLabel: 5, testPerLabel: 12 },
    spamHam: { trainPerLabel: 5, testPerLabel: 12 },
    cloze: { train: 10, test: 24 },
  },
};

export function suiteConfig(name: string): SuiteConfig {
  if (!(SUITE_NAMES as readonly string[]).includes(name)) throw new Error(`unknown suite ${JSON.stringify(name)}: expected one of ${SUITE_NAMES.join(', ')}`);
  return SUITES[name as SuiteName];
}
