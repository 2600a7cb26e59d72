/**
 * bench-finetune: the training cost of each fine-tuning method on the same pre-trained checkpoint and the same
 * batches (Mundra et al. 2023, "A Comprehensive Analysis of Adapter Efficiency", ask whether the parameter saving
 * of PEFT buys training time; this measures it for unilab's models).
 *
 *   npm run -s bench:finetune -- <checkpoint.safetensors> [--task brown-genre] [--steps 30] [--batch-size 16]
 *
 * Full fine-tuning, LoRA and adapters are prepared from the checkpoint, then step in turn (full, lora, adapter,
 * full, ...) on identical batches, so load from other processes falls on all three alike. Reports per method the
 * trainable parameters, the AdamW state they need (two f32 moments each) and the median and 90th-percentile time of
 * one training step (forward, backward, update), after two untimed warm-up rounds.
 */
import { createDefaultRegistry } from '@unilab/runner';
import { DEFAULT_FINETUNE_OPTIONS, FINETUNE_METHODS, brownGenreTask, prepareFinetune, sotuPartyTask, spamHamTask, type FinetuneRun } from '@unilab/eval';
import { parameterCount } from '@unilab/core';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const checkpoint = argv[0];
if (!checkpoint || checkpoint.startsWith('--')) throw new Error('usage: npm run -s bench:finetune -- <checkpoint.safetensors> [--task brown-genre] [--steps 30] [--batch-size 16]');
const steps = Number(option('steps', '30'));
const batchSize = Number(option('batch-size', '16'));
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${option('steps', '')}`);
if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be a positive integer, got ${option('batch-size', '')}`);
const builders = { 'brown-genre': brownGenreTask, 'spam-ham': spamHamTask, 'sotu-party': sotuPartyTask } as const;
const taskName = option('task', 'brown-genre') as keyof typeof builders;
if (!builders[taskName]) throw new Error(`--task must be one of ${Object.keys(builders).join(', ')}`);

const task = await builders[taskName]({});
const registry = createDefaultRegistry();
const options = { ...DEFAULT_FINETUNE_OPTIONS, batchSize, epochs: Math.ceil(((steps + 2) * batchSize) / task.train.length) };
const runs: FinetuneRun[] = [];
for (const method of FINETUNE_METHODS) runs.push(await prepareFinetune(checkpoint, registry, task, method, options));
const batches = runs[0].batches().slice(0, steps + 2);
const times: number[][] = runs.map(() => []);
for (const [i, rows] of batches.entries()) {
  for (const [m, run] of runs.entries()) {
    const t0 = performance.now();
    await run.trainStep(rows);
    if (i >= 2) times[m].push(performance.now() - t0);
  }
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
console.log(`bench-finetune: ${checkpoint}, ${task.name}, batches of ${batchSize}, ${steps} timed steps per method, interleaved`);
console.log('| method | trainable params | AdamW state | step median | step p90 | vs full |');
console.log('|---|---:|---:|---:|---:|---:|');
const fullMedian = quantile([...times[0]].sort((a, b) => a - b), 0.5);
for (const [m, run] of runs.entries()) {
  const sorted = [...times[m]].sort((a, b) => a - b);
  const trainable = parameterCount(run.classifier.trained);
  const median = quantile(sorted, 0.5);
  console.log(
    `| ${FINETUNE_METHODS[m]} | ${trainable.toLocaleString('en-US')} | ${((8 * trainable) / 1024).toFixed(0)} KiB | ${median.toFixed(1)} ms | ${quantile(sorted, 0.9).toFixed(1)} ms | ${(median / fullMedian).toFixed(2)}x |`,
  );
  run.dispose();
}
