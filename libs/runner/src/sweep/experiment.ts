import { SpecError, arrayOf, field, integer, json, number, object, oneOf, optional, string, type Schema } from '@unilab/core';
import { objectiveSpecSchema, type ObjectiveSpec } from '../objective-mixture.ts';

/**
 * An experiment file (`experiments/*.json`): a grid of architectures × objectives × model variants × sizes × seeds,
 * each cell one training run of a spec built from `base`. The paradigm study (UL2, Tay et al. 2022 §4) is the grid
 * {decoder, prefix-lm, encoder-decoder, unilm, glm} × {clm, prefixlm, span-corruption, sclm, unilm, ul2, glm}; the
 * architecture ablations are one architecture × one objective × variants. Cells whose pair the plugins refuse are
 * skipped with the validator's reason, never hidden.
 *
 *   { "name": "paradigms", "base": { <training spec without model.architecture and objective> },
 *     "architectures": ["decoder", "encoder-decoder"], "objectives": ["clm", { "name": "ul2", "config": {...} }],
 *     "sizes": [{ "name": "1M", "parameters": 1000000 }], "match": { "by": "parameters" }, "seeds": [1, 2, 3] }
 */
export interface ExperimentObjective {
  /** Short name in cell ids and tables: the objective's name unless given. */
  label: string;
  objective: ObjectiveSpec;
}

export interface ExperimentVariant {
  name: string;
  /** Model config fields every cell of this variant sets (e.g. { "activation": "gelu" }). */
  config: Record<string, unknown>;
}

export interface ExperimentSize {
  name: string;
  /** The parameter count the reference model of this size has (the target of every cell, or of the reference). */
  parameters: number;
}

/**
 * How cells of one size are made comparable (UL2 §4.1 discusses both):
 *   parameters: every cell's total parameter count is the size's (an L+L encoder-decoder gets a narrower width);
 *   compute: every cell spends the FLOPs per training step of the reference cell at the size's parameters
 *     (rows as computed, padding included: an encoder-decoder's decoder rows are as long as its objective needs).
 */
export interface ExperimentMatch {
  by: 'parameters' | 'compute';
  /** What is solved for: the width, then the FFN width (default); or only the FFN width, at the base config's dModel. */
  solve: 'width' | 'ffn';
  /** The compute reference: an architecture and one of the experiment's objective labels. */
  reference: { architecture: string; objective: string };
}

export interface Experiment {
  name: string;
  description: string;
  /** A training spec without model.architecture and objective; cells fill those, the width and the seed. */
  base: Record<string, unknown>;
  architectures: string[];
  objectives: ExperimentObjective[];
  /** Per-architecture model config fields (e.g. an encoder-decoder's encoderLayers / decoderLayers). */
  architectureConfig: Record<string, Record<string, unknown>>;
  variants: ExperimentVariant[];
  sizes: ExperimentSize[];
  match: ExperimentMatch;
  seeds: number[];
  /** Pairs left out on purpose, each with the reason kept in the manifest (e.g. a cell identical to another). */
  exclude: { architecture: string; objective: string; reason: string }[];
}

const objectiveEntry: Schema<ExperimentObjective> = {
  describe: 'an objective name, or { name, config, label } / { mixture, label }',
  parse(value, path) {
    if (typeof value === 'string') return { label: value, objective: objectiveSpecSchema.parse({ name: value }, path) };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SpecError(path, `expected ${this.describe}, got ${JSON.stringify(value)}`);
    const { label, ...rest } = value as Record<string, unknown>;
    const objective = objectiveSpecSchema.parse(rest, path);
    if (label !== undefined && (typeof label !== 'string' || label.length === 0)) throw new SpecError(`${path}.label`, 'expected a non-empty string');
    const fallback = 'name' in objective ? objective.name : objective.mixture.map((c) => c.name).join('+');
    return { label: (label as string | undefined) ?? fallback, objective };
  },
};

const record: Schema<Record<string, unknown>> = {
  describe: 'an object',
  parse(value, path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SpecError(path, `expected an object, got ${JSON.stringify(value)}`);
    return value as Record<string, unknown>;
  },
};

const experimentSchema = object({
  name: field(string({ nonEmpty: true })),
  description: field(string(), ''),
  base: field(record, {}),
  architectures: field(arrayOf(string({ nonEmpty: true }), { minLength: 1 })),
  objectives: field(arrayOf(objectiveEntry, { minLength: 1 })),
  architectureConfig: field(json(), {}),
  variants: field(arrayOf(object({ name: field(string({ nonEmpty: true })), config: field(record, {}) }), { minLength: 1 }), [{ name: 'base', config: {} }]),
  sizes: field(arrayOf(object({ name: field(string({ nonEmpty: true })), parameters: field(number({ greaterThan: 0 })) }), { minLength: 1 })),
  match: field(
    object({
      by: field(oneOf(['parameters', 'compute'] as const), 'parameters'),
      solve: field(oneOf(['width', 'ffn'] as const), 'width'),
      reference: optional(object({ architecture: field(string({ nonEmpty: true })), objective: field(string({ nonEmpty: true })) })),
    }),
    { by: 'parameters' as const, solve: 'width' as const, reference: undefined },
  ),
  seeds: field(arrayOf(integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1 }), [1, 2, 3]),
  exclude: field(
    arrayOf(object({ architecture: field(string({ nonEmpty: true })), objective: field(string({ nonEmpty: true })), reason: field(string({ nonEmpty: true })) })),
    [],
  ),
});

const NAME = /^[A-Za-z0-9_.-]+$/;

/** Validate an experiment file; errors name the field (`experiment.sizes[0].parameters: ...`). */
export function parseExperiment(value: unknown): Experiment {
  const e = experimentSchema.parse(value, 'experiment');
  const unique = (names: string[], path: string) => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (!NAME.test(n)) throw new SpecError(`${path}[${i}]`, `"${n}" names directories: use letters, digits, _ . - only`);
      if (seen.has(n)) throw new SpecError(`${path}[${i}]`, `"${n}" appears twice`);
      seen.add(n);
    });
  };
  unique(e.architectures, 'experiment.architectures');
  unique(e.objectives.map((o) => o.label), 'experiment.objectives (labels)');
  unique(e.variants.map((v) => v.name), 'experiment.variants (names)');
  unique(e.sizes.map((s) => s.name), 'experiment.sizes (names)');
  if (new Set(e.seeds).size !== e.seeds.length) throw new SpecError('experiment.seeds', 'a seed appears twice');
  for (const key of ['model', 'objective', 'seed', 'outDir'] as const)
    if (key in e.base && key !== 'model') throw new SpecError(`experiment.base.${key}`, 'each cell sets this; remove it from base');
  const baseModel = e.base.model as Record<string, unknown> | undefined;
  if (baseModel && 'architecture' in baseModel) throw new SpecError('experiment.base.model.architecture', 'each cell sets it; list architectures instead');
  const architectureConfig = e.architectureConfig as Record<string, Record<string, unknown>>;
  if (typeof architectureConfig !== 'object' || architectureConfig === null || Array.isArray(architectureConfig))
    throw new SpecError('experiment.architectureConfig', 'expected { "<architecture>": { <model config fields> } }');
  for (const name of Object.keys(architectureConfig))
    if (!e.architectures.includes(name)) throw new SpecError(`experiment.architectureConfig.${name}`, `not one of the experiment's architectures (${e.architectures.join(', ')})`);
  const reference = e.match.reference ?? { architecture: e.architectures[0], objective: e.objectives[0].label };
  if (!e.architectures.includes(reference.architecture))
    throw new SpecError('experiment.match.reference.architecture', `must be one of ${e.architectures.join(', ')}`);
  if (!e.objectives.some((o) => o.label === reference.objective))
    throw new SpecError('experiment.match.reference.objective', `must be one of ${e.objectives.map((o) => o.label).join(', ')}`);
  e.exclude.forEach((x, i) => {
    if (!e.architectures.includes(x.architecture)) throw new SpecError(`experiment.exclude[${i}].architecture`, `not one of ${e.architectures.join(', ')}`);
    if (!e.objectives.some((o) => o.label === x.objective))
      throw new SpecError(`experiment.exclude[${i}].objective`, `not one of ${e.objectives.map((o) => o.label).join(', ')}`);
  });
  if (e.match.solve === 'ffn' && typeof baseModel?.config !== 'object')
    throw new SpecError('experiment.match.solve', '"ffn" keeps the width: give base.model.config.dModel');
  if (e.match.solve === 'ffn' && typeof (baseModel!.config as Record<string, unknown>).dModel !== 'number')
    throw new SpecError('experiment.match.solve', '"ffn" keeps the width: give base.model.config.dModel');
  return { ...e, architectureConfig, match: { by: e.match.by, solve: e.match.solve, reference } };
}
