import { readFile } from 'node:fs/promises';
import { createReferenceBackend, parameterCount, type PluginRegistry } from '@unilab/core';
import { architecturePlugins, describeModel, matchedEncoderDecoders, type ModelDescription } from '@unilab/plugins-arch';
import { buildModel, estimateStepFlops, estimateTraining, objectiveLabel, parseTrainingSpec, rowShape, tokenizerFor, validateSpecPlugins, type TrainingSpec } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab describe <spec.json> [--config unilab.config.json]';

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const mega = (n: number) => `${(n / 1e6).toFixed(2)} M`;
const megabytes = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Rows of a comparison table: a label and one cell per model. */
function table(columns: { title: string; d: ModelDescription }[]): string {
  const rows: [string, (d: ModelDescription) => string][] = [
    ['parameters', (d) => count(d.parameters.total)],
    ['  embedding', (d) => count(d.parameters.embedding)],
    ['  output head', (d) => count(d.parameters.outputHead)],
    ['  non-embedding', (d) => count(d.parameters.nonEmbedding)],
    ['FLOPs/token forward', (d) => mega(d.flopsPerToken.forward)],
    ['  of which attention', (d) => mega(d.flopsPerToken.attention)],
    ['FLOPs/token training', (d) => mega(d.flopsPerToken.training)],
    ['memory: weights+AdamW', (d) => megabytes(d.memory.weightsAndOptimizer)],
    ['memory: activations', (d) => megabytes(d.memory.activations)],
    ['memory: total', (d) => megabytes(d.memory.total)],
  ];
  const cells = [['', ...columns.map((c) => c.title)], ...rows.map(([label, cell]) => [label, ...columns.map((c) => cell(c.d))])];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ')).join('\n');
}

/**
 * `unilab describe spec.json`: the model a spec builds — parameters (embedding / non-embedding), FLOPs per token for
 * the forward pass and for training, a memory estimate — and, for a one-stack model, the two encoder-decoders a fair
 * comparison needs (same total parameters; same compute per token).
 */
export async function describeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
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
  const registry = await registryFromArgs(args);
  validateSpecPlugins(spec, registry);
  const vocabSize = tokenizerFor(spec, registry).vocabSize;
  const architecture = spec.model.architecture;
  const header = `${architecture} / ${objectiveLabel(spec.objective)}: vocab ${vocabSize}, seqLen ${spec.train.seqLen}, batch ${spec.train.batchSize} (f32, AdamW)`;
  // The closed-form figures know this library's own architectures (their configs); any other is built and counted.
  const plugin = registry.architecture(architecture);
  if (!architecturePlugins.includes(plugin)) return describeByBuilding(spec, registry, vocabSize, header);

  const options = { vocabSize, seqLen: spec.train.seqLen, batchSize: spec.train.batchSize, positionalEncoding: (name: string) => registry.positionalEncoding(name) };
  const config = registry.architecture(architecture).configSchema.parse(spec.model.config, 'spec.model.config');
  const model = describeModel(architecture, config, options);
  const columns = [{ title: architecture, d: model }];
  const shapes = [`${architecture}: ${model.shape}`];
  if (plugin.consumes.form === 'single-stack') {
    const { sameParameters, sameCompute } = matchedEncoderDecoders(config, options);
    const equalParams = describeModel('encoder-decoder', sameParameters, options);
    const equalCompute = describeModel('encoder-decoder', sameCompute, options);
    columns.push({ title: 'ED same params', d: equalParams }, { title: 'ED same compute', d: equalCompute });
    shapes.push(`ED same params: ${equalParams.shape}`, `ED same compute: ${equalCompute.shape}`);
  }
  console.log([header, ...shapes.map((s) => `  ${s}`), '', table(columns)].join('\n'));
  // What a step of this spec spends, rows as the runner builds them (an encoder-decoder's decoder rows as long as its
  // objective needs, e.g. 512 → 114 for span corruption), padding included.
  const rows = rowShape(spec, registry);
  const stepFlops = estimateStepFlops(spec, registry, vocabSize)!;
  console.log(
    `\ntraining FLOPs per step of this spec: ${(stepFlops / 1e9).toFixed(3)} G (${spec.train.batchSize * spec.train.gradAccum} rows of ` +
      `${rows.encoderLen === undefined ? rows.seqLen : `encoder ${rows.encoderLen} + decoder ${rows.seqLen}`} positions); ` +
      `${(stepFlops * spec.train.steps).toExponential(3)} for its ${spec.train.steps} steps`,
  );
  if (columns.length > 1)
    console.log(
      '\nFLOPs per token count each position of either stack (the encoder and the decoder each read seqLen positions);\n' +
        'training = 3 × forward (6N + 3 × attention). The same-compute encoder-decoder has about twice the non-embedding\n' +
        'parameters (Raffel et al. 2020, Table 2); the same-parameter one about half the compute per token.',
    );
  return 0;
}

/** An architecture from a plugin package: build it on the CPU and count what it holds; its memory, if it estimates it. */
function describeByBuilding(spec: TrainingSpec, registry: PluginRegistry, vocabSize: number, header: string): number {
  const model = buildModel(spec, registry, createReferenceBackend(), vocabSize);
  const footprint = estimateTraining(spec, registry, vocabSize);
  const memory = footprint
    ? `memory: weights+AdamW ${megabytes(footprint.weightsAndOptimizer)}, activations ${megabytes(footprint.activations)}, total ${megabytes(footprint.total)} (the plugin's own estimate)`
    : 'no memory estimate: the plugin has no footprint hook (the job API refuses it unless admitUnestimatedArchitectures)';
  console.log(`${header}\nparameters ${count(parameterCount(model.params))} (FLOPs are computed for the built-in architectures only)\n${memory}`);
  return 0;
}
