import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDefaultRegistry, parseTrainingSpec, tokenizerFor } from '@unilab/runner';
import { warnAboutMemory } from '../src/memory-warning.ts';

const spec = (train: Record<string, number>) =>
  parseTrainingSpec({
    name: 'memory',
    data: { corpus: 'sotu' },
    model: { architecture: 'decoder', config: { layers: 8, dModel: 512, heads: 8 } },
    objective: { name: 'clm' },
    train: { steps: 1, warmupSteps: 0, ...train },
  });

afterEach(() => vi.restoreAllMocks());

describe('unilab train / run warn about a job the API would refuse for memory', () => {
  it('warns, naming the estimate and what to lower, for a batch of hundreds of GiB; stays silent for a small one', async () => {
    const registry = createDefaultRegistry();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const huge = spec({ batchSize: 256, seqLen: 4096 });
    await warnAboutMemory([huge], registry, tokenizerFor(huge, registry).vocabSize);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^unilab: warning: training this model needs about \d+\.\d\d GiB .*more than half of this machine's .*maxJobMemoryBytes.*train\.batchSize/);
    const small = spec({ batchSize: 2, seqLen: 32 });
    await warnAboutMemory([small], registry, tokenizerFor(small, registry).vocabSize);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
