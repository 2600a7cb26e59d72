import type { PluginRegistry } from '@unilab/core';
import { estimateParameters, estimateStepFlops } from '../estimate.ts';
import { parseTrainingSpec, type TrainingSpec } from '../spec.ts';

/**
 * Size a model to a target with `describe`'s closed-form counts (libs/plugins-arch/src/describe.ts), without building
 * it: the width dModel is searched on a grid (a multiple of 4 · heads, so every encoding's head size works: RoPE
 * rotates pairs, rope-2d two halves of pairs), then the FFN width (a multiple of 8) closes the rest of the gap,
 * as `matchedEncoderDecoders` does (Raffel et al. 2020 §3.2.2 match parameters the same way). Depth, heads and the
 * FFN's activation stay what the spec says.
 */
export type MatchMetric = 'parameters' | 'compute';

export interface MatchedModel {
  spec: TrainingSpec;
  /** The metric's value for this spec: total parameters, or training FLOPs per optimizer step. */
  value: number;
  target: number;
  /** (value - target) / target. */
  error: number;
  parameters: number;
  flopsPerStep: number;
}

/** A spec at a given width; `ffnHidden` 0 keeps the architecture's default ratio (LLaMA's 8d/3 for SwiGLU, 4d else). */
export type SpecAtWidth = (dModel: number, ffnHidden: number) => TrainingSpec;

export function measure(spec: TrainingSpec, registry: PluginRegistry): { parameters: number; flopsPerStep: number } {
  const parameters = estimateParameters(spec, registry);
  const flopsPerStep = estimateStepFlops(spec, registry);
  if (parameters === null || flopsPerStep === null)
    throw new Error(`architecture "${spec.model.architecture}" has no closed-form size (a plugin package's); a sweep cannot match it`);
  return { parameters, flopsPerStep };
}

function metricOf(spec: TrainingSpec, registry: PluginRegistry, by: MatchMetric): number {
  const m = measure(spec, registry);
  return by === 'parameters' ? m.parameters : m.flopsPerStep;
}

/**
 * The spec nearest `target` by `by`: width on its grid first (unless `fixedWidth` is given: ablations keep the
 * width and let only the FFN absorb a difference), then the FFN width.
 */
export function matchModel(at: SpecAtWidth, heads: number, target: number, by: MatchMetric, registry: PluginRegistry, fixedWidth?: number): MatchedModel {
  const step = 4 * heads;
  const value = (d: number, f = 0) => metricOf(at(d, f), registry, by);
  let base = fixedWidth ?? 0;
  if (fixedWidth === undefined) {
    // The metric grows with the width: walk the grid up to the first width past the target (at most 8192).
    let d = step;
    while (d + step <= 8192 && value(d + step) <= target) d += step;
    const below = d;
    const above = Math.min(d + step, 8192);
    base = Math.abs(value(above) - target) < Math.abs(value(below) - target) ? above : below;
  }
  // Then the FFN width: the metric is linear in it (parameters exactly, FLOPs per step too), so solve and round.
  const defaultFfn = defaultFfnHidden(at(base, 0), registry);
  const perUnit = value(base, defaultFfn + 8) - value(base, defaultFfn);
  const ffn = perUnit > 0 ? Math.max(8, Math.round((defaultFfn + ((target - value(base, defaultFfn)) / perUnit) * 8) / 8) * 8) : defaultFfn;
  const spec = at(base, ffn);
  const measured = measure(spec, registry);
  const achieved = by === 'parameters' ? measured.parameters : measured.flopsPerStep;
  return { spec, value: achieved, target, error: (achieved - target) / target, ...measured };
}

/** The FFN width an architecture's config resolves to when the spec leaves it at 0. */
function defaultFfnHidden(spec: TrainingSpec, registry: PluginRegistry): number {
  const config = registry.architecture(spec.model.architecture).configSchema.parse(spec.model.config, 'spec.model.config') as { ffnHidden: number };
  return config.ffnHidden;
}

/**
 * A training spec from raw JSON pieces (the base spec's model config, then the cell's fields), validated as any spec
 * is. A cell field set to null removes the base's (an encoder-decoder's `"layers": null` beside its encoderLayers).
 */
export function cellSpec(base: Record<string, unknown>, model: { architecture: string; config: Record<string, unknown> }, objective: unknown, seed: number, name: string): TrainingSpec {
  const baseModel = (base.model as { config?: Record<string, unknown> } | undefined)?.config ?? {};
  const config = Object.fromEntries(Object.entries({ ...baseModel, ...model.config }).filter(([, v]) => v !== null));
  return parseTrainingSpec({ ...base, name, seed, model: { architecture: model.architecture, config }, objective, samplePrompts: [] });
}
