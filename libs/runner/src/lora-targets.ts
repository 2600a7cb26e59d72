import { loraTargetNames, type PluginRegistry, type TuningModules } from '@unilab/core';
import type { TrainingSpec } from './spec.ts';

/**
 * The parameter names LoRA adapts in a spec's model for `targets` (roles such as "query" and "value", or the names
 * its architecture declares: core/plugins/tunable-projections.ts). A target the architecture does not declare is
 * refused at `path[j]`, naming the architecture and what it declares.
 */
export function resolveLoraTargets(spec: TrainingSpec, registry: PluginRegistry, targets: readonly string[], path: string): string[] {
  const architecture = registry.architecture(spec.model.architecture);
  const config = architecture.configSchema.parse(spec.model.config, 'spec.model.config');
  return loraTargetNames(architecture.name, architecture.tunableProjections?.(config), targets, path);
}

/** `tuning` with its LoRA targets resolved (resolveLoraTargets); the names resolve to themselves, so it may run twice. */
export function resolveTuning(spec: TrainingSpec, registry: PluginRegistry, tuning: TuningModules | undefined, path = 'lora.targets'): TuningModules | undefined {
  if (!tuning?.lora) return tuning;
  return { ...tuning, lora: { ...tuning.lora, targets: resolveLoraTargets(spec, registry, tuning.lora.targets, path) } };
}
