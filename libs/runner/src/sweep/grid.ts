import { SpecError, type PluginRegistry } from '@unilab/core';
import { validateSpecPlugins } from '../run.ts';
import type { TrainingSpec } from '../spec.ts';
import type { Experiment, ExperimentObjective, ExperimentVariant } from './experiment.ts';
import { cellSpec, matchModel, measure, type MatchedModel } from './matching.ts';

/** One run of the grid: what it is, and the spec that trains it. */
export interface SweepCell {
  /** Directory-safe id, unique in the sweep: size-architecture-objective[-variant]-sSEED. */
  id: string;
  size: string;
  architecture: string;
  objective: string;
  variant: string;
  seed: number;
  spec: TrainingSpec;
  parameters: number;
  /** Training FLOPs per optimizer step (rows as computed, padding included); × steps = the cell's FLOPs. */
  flopsPerStep: number;
  /** The matched metric's target and how far the cell is from it ((value - target) / target). */
  match: { by: 'parameters' | 'compute'; target: number; error: number };
}

/** A pair the plugins refuse, with the validator's own words. */
export interface SkippedPair {
  architecture: string;
  objective: string;
  variant: string;
  reason: string;
}

export interface SweepGrid {
  cells: SweepCell[];
  skipped: SkippedPair[];
}

export interface GridOptions {
  /** Multiplies every size's parameters and the base spec's train.steps (with its warm-up and intervals); default 1. */
  scale?: number;
}

/**
 * Expand an experiment into cells. A pair is in the grid exactly when spec validation accepts it (the objective
 * declares the architecture, the encoding serves its attention, ...); the others are listed as skipped with the
 * validator's reason. Each cell is sized by `matchModel`: its width (then FFN width) solved so that its parameters,
 * or its FLOPs per step, equal the size's target.
 */
export function expandGrid(experiment: Experiment, registry: PluginRegistry, options: GridOptions = {}): SweepGrid {
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new Error(`--scale must be > 0, got ${scale}`);
  const base = scaledBase(experiment.base, scale);
  const cells: SweepCell[] = [];
  const skipped: SkippedPair[] = [];
  const specFor = (architecture: string, objective: ExperimentObjective, variant: ExperimentVariant, seed: number, name: string) =>
    (dModel: number, ffnHidden: number) =>
      cellSpec(
        base,
        { architecture, config: { ...experiment.architectureConfig[architecture], ...variant.config, dModel, ...(ffnHidden > 0 ? { ffnHidden } : {}) } },
        objective.objective,
        seed,
        name,
      );
  const headsOf = (spec: TrainingSpec) => Number((spec.model.config as { heads?: number }).heads ?? 4);
  const reference = experiment.objectives.find((o) => o.label === experiment.match.reference.objective)!;
  // match.solve "ffn": every cell keeps the base width (validated to exist) and only the FFN width is solved.
  const fixedWidth = experiment.match.solve === 'ffn' ? Number(((base.model as { config: { dModel: number } }).config).dModel) : undefined;

  for (const size of experiment.sizes) {
    const parameters = size.parameters * scale;
    // Matching by compute: the FLOPs per step of the reference cell (first variant) at this size's parameters.
    let target = parameters;
    if (experiment.match.by === 'compute') {
      const at = specFor(experiment.match.reference.architecture, reference, experiment.variants[0], experiment.seeds[0], 'reference');
      target = matchModel(at, headsOf(at(0, 0)), parameters, 'parameters', registry, fixedWidth).flopsPerStep;
    }
    for (const variant of experiment.variants)
      for (const architecture of experiment.architectures)
        for (const objective of experiment.objectives) {
          const excluded = experiment.exclude.find((x) => x.architecture === architecture && x.objective === objective.label);
          if (excluded) {
            skipped.push({ architecture, objective: objective.label, variant: variant.name, reason: `excluded by the experiment: ${excluded.reason}` });
            continue;
          }
          const probe = specFor(architecture, objective, variant, experiment.seeds[0], 'probe');
          const refused = refusal(() => probe(16 * headsOf(probe(0, 0)), 0), registry, `${architecture} × ${objective.label}`);
          if (refused) {
            skipped.push({ architecture, objective: objective.label, variant: variant.name, reason: refused });
            continue;
          }
          let matched: MatchedModel | undefined;
          for (const seed of experiment.seeds) {
            const id = [size.name, architecture, objective.label, experiment.variants.length > 1 ? variant.name : '', `s${seed}`].filter(Boolean).join('-');
            const at = specFor(architecture, objective, variant, seed, `${experiment.name}/${id}`);
            // The width depends on nothing but the seed-free fields: solve once per (size, architecture, objective, variant).
            matched ??= matchModel(at, headsOf(at(0, 0)), target, experiment.match.by, registry, fixedWidth);
            const config = matched.spec.model.config as { dModel: number; ffnHidden: number };
            const spec = at(config.dModel, config.ffnHidden);
            const m = measure(spec, registry);
            cells.push({
              id,
              size: size.name,
              architecture,
              objective: objective.label,
              variant: variant.name,
              seed,
              spec,
              parameters: m.parameters,
              flopsPerStep: m.flopsPerStep,
              match: { by: experiment.match.by, target: matched.target, error: matched.error },
            });
          }
        }
  }
  return { cells, skipped };
}

/**
 * The base spec with its steps scaled, and with them every count of steps that shapes the run (warm-up, evaluation
 * and checkpoint intervals), so the schedule keeps its shape; an interval that was set stays at least 1.
 */
function scaledBase(base: Record<string, unknown>, scale: number): Record<string, unknown> {
  if (scale === 1) return base;
  const train = { ...((base.train ?? {}) as Record<string, unknown>) };
  const steps = Math.max(1, Math.round(Number(train.steps ?? 500) * scale));
  for (const key of ['warmupSteps', 'evalEvery', 'checkpointEvery'])
    if (typeof train[key] === 'number' && (train[key] as number) > 0) train[key] = Math.min(steps, Math.max(1, Math.round((train[key] as number) * scale)));
  return { ...base, train: { ...train, steps } };
}

/**
 * The validator's message when the plugins refuse a cell's pairing (the objective does not train the architecture,
 * the encoding cannot serve it), else null. Any other invalid field is the experiment's mistake, not a missing pair:
 * it is thrown, naming the cell.
 */
function refusal(build: () => TrainingSpec, registry: PluginRegistry, cell: string): string | null {
  try {
    validateSpecPlugins(build(), registry);
    return null;
  } catch (err) {
    if (err instanceof SpecError && PAIRING.test(err.path)) return err.message;
    if (err instanceof SpecError) throw new SpecError(err.path, `${err.problem} (in cell ${cell})`);
    throw err;
  }
}

const PAIRING = /^spec\.(objective(\.mixture\[\d+\])?|model\.config\.positionalEncoding)\.name$/;
