import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { canGenerate, generate, loadedModel, objectiveLabel, parseTrainingSpec, runTraining } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { ProgressBar } from '../progress-bar.ts';

const USAGE = 'usage: unilab train <spec.json> [--out DIR] [--resume] [--config unilab.config.json]';

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
  let bar: ProgressBar | undefined;
  const result = await runTraining({
    spec,
    outDir,
    registry,
    resume: args.options.get('resume') === true,
    events: {
      onStart(info) {
        console.log(
          `unilab: ${spec.model.architecture} / ${objectiveLabel(spec.objective)} on ${spec.data.shards ?? spec.data.corpus}: ` +
            `${(info.parameters / 1e6).toFixed(3)}M parameters, vocab ${info.vocabSize}, ` +
            `${(info.trainTokens / 1e6).toFixed(2)}M train / ${(info.heldOutTokens / 1e6).toFixed(2)}M held-out tokens, backend ${spec.backend}`,
        );
        console.log(`unilab: unigram entropy of the training text: ${info.unigramEntropy.toFixed(4)} nats/token (the loss to beat)`);
        if (info.resumedFrom) console.log(`unilab: resuming from ${info.resumedFrom} at step ${info.startStep}`);
        bar = new ProgressBar(spec.train.steps, info.startStep);
      },
      onStep(r) {
        bar?.update(r.step, r.loss, r.tokens, `lr ${r.lr.toExponential(2)}`);
      },
      onEval(step, loss) {
        bar?.log(`step ${step}: held-out loss ${loss.toFixed(4)} nats/token (${(loss / Math.LN2).toFixed(3)} bits)`);
      },
      onCheckpoint(path) {
        bar?.log(`checkpoint written: ${path}`);
      },
    },
  });
  bar?.finish();
  console.log(
    `unilab: done at step ${result.step}. held-out loss ${result.heldOutLoss.toFixed(4)} nats/token vs unigram entropy ` +
      `${result.unigramEntropy.toFixed(4)} (${((1 - result.heldOutLoss / result.unigramEntropy) * 100).toFixed(1)}% lower)`,
  );
  console.log(`unilab: checkpoint ${result.checkpoint}`);
  if (!canGenerate(result.model.architecture)) {
    console.log(`unilab: no samples: generation does not support ${result.model.architecture} models`);
    return 0;
  }
  for (const prompt of spec.samplePrompts) {
    const text = await generate(
      loadedModel(result.model, result.tokenizer, result.backend, spec, registry),
      prompt,
      { maxTokens: 200, temperature: 0.8, topK: 0, topP: 0.95, seed: spec.seed },
    );
    console.log(`\nsample> ${prompt}${text}\n`);
  }
  console.log(`try: npm run -s unilab -- generate ${result.checkpoint} --prompt "Fellow citizens"`);
  return 0;
}
