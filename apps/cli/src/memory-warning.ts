import { machineMemory } from '@unilab/api';
import type { PluginRegistry } from '@unilab/core';
import { readShardIndex } from '@unilab/data';
import { estimateTraining, type TrainingSpec } from '@unilab/runner';

/**
 * The job API's memory check (it refuses a job whose estimate exceeds maxJobMemoryBytes, by default half the
 * machine's memory) as a warning for a run in this process, where the user decides. Silent for an architecture that
 * cannot estimate itself; `vocabSize` is the job's (bytes and every stage's special tokens) unless a dataset brings one.
 */
export async function warnAboutMemory(specs: readonly TrainingSpec[], registry: PluginRegistry, vocabSize: number): Promise<void> {
  const shards = specs[0].data.shards;
  const vocab = shards ? await readShardIndex(shards).then((index) => index.vocabSize, () => vocabSize) : vocabSize;
  const limit = machineMemory() / 2;
  const largest = Math.max(...specs.map((spec) => estimateTraining(spec, registry, vocab)?.total ?? 0));
  if (largest > limit)
    console.warn(
      `unilab: warning: training this model needs about ${gib(largest)} GiB (\`unilab describe\` breaks it down), more than half of this machine's ` +
        `${gib(machineMemory())} GiB; the job API would refuse it (maxJobMemoryBytes). Lower train.batchSize or train.seqLen, or the model size`,
    );
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);
