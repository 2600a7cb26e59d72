import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { canGenerate, generate, readCheckpoint, loadedModel, objectiveLabel, parseTrainingSpec, runTraining, tokenizerFor, validateSpecPlugins, type RunInfo, type TrainingSpec } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { warnAboutMemory } from '../memory-warning.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { ProgressBar } from '../progress-bar.ts';
import { tokenizerFromJSON, type ReadProblem } from '@unilab/data';
import type { Tokenizer } from '@unilab/core';

const USAGE = 'usage: unilab train <spec.json> [--out DIR] [--resume] [--init-from CHECKPOINT] [--config unilab.config.json]';

/** What the corpus reader dropped or refused, on stderr: the counts by reason, then each listed problem. */
function reportDropped(dropped: Record<string, number>, problems: readonly ReadProblem[]): void {
  const total = Object.values(dropped).reduce((a, b) => a + b, 0);
  if (total === 0) return;
  console.warn(`unilab: the corpus reader dropped ${total} record(s) or file(s): ${Object.entries(dropped).map(([code, n]) => `${code} ${n}`).join(', ')}`);
  for (const p of problems) console.warn(`unilab:   ${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`);
  if (problems.length < total) console.warn(`unilab:   ... and ${total - problems.length} more`);
}

/**
 * --init-from CHECKPOINT: start from its weights (an imported Hugging Face model, say) with a fresh optimizer and
 * the checkpoint's own tokenizer, whose ids the weights were trained on.
 */
async function initFromArgs(value: string | boolean | undefined, architecture: string): Promise<{ initFrom?: string; tokenizer?: Tokenizer }> {
  if (value === undefined) return {};
  if (typeof value !== 'string') throw new Error('--init-from needs a checkpoint path');
  const state = (await readCheckpoint(value)).state as unknown as { spec: { model: { architecture: string } }; tokenizer: Record<string, unknown> };
  if (state.spec.model.architecture !== architecture)
    throw new Error(`--init-from ${value} holds a ${state.spec.model.architecture}; the spec builds a ${architecture}`);
  return { initFrom: value, tokenizer: tokenizerFromJSON(state.tokenizer) };
}

/** The run's model, data and cost as it starts, and what the corpus reader dropped. */
function reportStart(spec: TrainingSpec, info: RunInfo): void {
  console.log(
    `unilab: ${spec.model.architecture} / ${objectiveLabel(spec.objective)} on ${spec.data.shards ?? spec.data.corpus}: ` +
      `${(info.parameters / 1e6).toFixed(3)}M parameters, vocab ${info.vocabSize}, ` +
      `${(info.trainTokens / 1e6).toFixed(2)}M train / ${(info.heldOutTokens / 1e6).toFixed(2)}M held-out tokens, backend ${spec.backend}`,
  );
  console.log(`unilab: unigram entropy of the training text: ${info.unigramEntropy.toFixed(4)} nats/token (the loss to beat)`);
  const rows = info.rows.encoderLen === undefined ? `${info.rows.seqLen}` : `encoder ${info.rows.encoderLen} + decoder ${info.rows.seqLen}`;
  if (info.flopsPerStep !== null) console.log(`unilab: rows of ${rows} positions, ${(info.flopsPerStep / 1e9).toFixed(3)} GFLOPs per training step (padding included)`);
  if (info.resumedFrom) console.log(`unilab: resuming from ${info.resumedFrom} at step ${info.startStep}`);
  reportDropped(info.dropped, info.problems);
}

/** `unilab train spec.json`: validate the spec, train with a progress bar, report held-out loss and a sample. */
export async function trainCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['resume']);
  const specPath = args.positionals[0];
  if (!specPath) throw new Error(USAGE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(specPath, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `spec file ${specPath} does not exist` : `spec file ${specPath} is not valid JSON: ${(err as Error).message}`);
  }
  const spec = parseTrainingSpec(raw);
  const out = args.options.get('out');
  const outDir = typeof out === 'string' ? out : (spec.outDir ?? join('runs', spec.name || basename(specPath, '.json')));
  const registry = await registryFromArgs(args);
  // Validate first: the memory estimate looks plugins up, and an unknown one deserves the validator's message.
  validateSpecPlugins(spec, registry);
  await warnAboutMemory([spec], registry, tokenizerFor(spec, registry).vocabSize);
  let bar: ProgressBar | undefined;
  const result = await runTraining({
    spec,
    outDir,
    registry,
    resume: args.options.get('resume') === true,
    ...(await initFromArgs(args.options.get('init-from'), spec.model.architecture)),
    onEvent(e) {
      if (e.type === 'start') {
        reportStart(spec, e);
        bar = new ProgressBar(spec.train.steps, e.startStep);
      } else if (e.type === 'step') bar?.update(e.step, e.loss, e.tokens, `lr ${e.lr.toExponential(2)}`);
      else if (e.type === 'eval') bar?.log(`step ${e.step}: held-out loss ${e.heldOutLoss.toFixed(4)} nats/token (${(e.heldOutLoss / Math.LN2).toFixed(3)} bits)`);
      else bar?.log(`checkpoint written: ${e.path}`);
    },
  });
  bar?.finish();
  console.log(
    `unilab: done at step ${result.step}. held-out loss ${result.heldOutLoss.toFixed(4)} nats/token vs unigram entropy ` +
      `${result.unigramEntropy.toFixed(4)} (${((1 - result.heldOutLoss / result.unigramEntropy) * 100).toFixed(1)}% lower)`,
  );
  if (result.flops !== null) console.log(`unilab: training FLOPs spent: ${result.flops.toExponential(3)}`);
  console.log(`unilab: checkpoint ${result.checkpoint}`);
  const loaded = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
  if (!canGenerate(loaded) || !loaded.presentation?.lm) {
    console.log(`unilab: no samples: a ${result.model.architecture} model trained by ${objectiveLabel(spec.objective)} does not continue text`);
    return 0;
  }
  for (const prompt of spec.samplePrompts) {
    const text = await generate(loaded, prompt, { maxTokens: 200, temperature: 0.8, topK: 0, topP: 0.95, seed: spec.seed });
    console.log(`\nsample> ${prompt}${text}\n`);
  }
  console.log(`try: npx unilab generate ${result.checkpoint} --prompt "Fellow citizens"`);
  return 0;
}
