import { SpecError } from '../config/schema.ts';

/**
 * The linear projections of an architecture that LoRA (Hu et al. 2021) may adapt, declared by the architecture
 * (ArchitecturePlugin.tunableProjections) so that a fine-tuning run names them by role ("query", "value") whatever
 * the architecture calls them, and is refused with the architecture's own list when it names one it does not have.
 * The roles are those of a transformer block's projections: attention's W_q, W_k, W_v, W_o (Vaswani et al. 2017
 * §3.2.2), the feed-forward's W_gate, W_up, W_down (Shazeer 2020's GLU variants; W_up and W_down alone otherwise) and
 * a decoder's cross-attention W_q ... W_o.
 */
export const PROJECTION_ROLES = ['query', 'key', 'value', 'output', 'ffn-gate', 'ffn-up', 'ffn-down', 'cross-query', 'cross-key', 'cross-value', 'cross-output'] as const;
export type ProjectionRole = (typeof PROJECTION_ROLES)[number];

export interface TunableProjection {
  readonly role: ProjectionRole;
  /**
   * The last part of the names of the weights in this role (layers.3.wq -> "wq"), each a Parameter [in, out]: what
   * LoraSpec.targets holds when the architecture's model is built (core/nn/lora.ts matches it with projectionName).
   */
  readonly name: string;
}

/** Hu et al. 2021 §7.1 (Table 5): adapting W_q and W_v alone does as well as all four attention projections. */
export const DEFAULT_LORA_TARGETS: readonly string[] = ['query', 'value'];

/**
 * The parameter names LoRA adapts for `targets`, each a role or one of the declared parameter names (so a built-in's
 * "wq" still reads as before), in declaration order without repeats. A target the architecture does not declare, or
 * an architecture that declares none, is refused at `path` (`path[j]` for the j-th target) with the architecture's
 * name and what it declares.
 */
export function loraTargetNames(architecture: string, projections: readonly TunableProjection[] | undefined, targets: readonly string[], path: string): string[] {
  if (!projections || projections.length === 0)
    throw new SpecError(
      path,
      `architecture "${architecture}" declares no projections LoRA may adapt (ArchitecturePlugin.tunableProjections), so it cannot be tuned with LoRA; tune it with adapters or every weight`,
    );
  if (targets.length === 0) throw new SpecError(path, `name at least one projection of architecture "${architecture}": ${describeProjections(projections)}`);
  const chosen = new Set<string>();
  targets.forEach((target, j) => {
    const match = projections.find((p) => p.role === target || p.name === target);
    if (!match)
      throw new SpecError(
        `${path}[${j}]`,
        `LoRA target "${target}" is no projection of architecture "${architecture}"; it declares ${describeProjections(projections)} (name a role or its parameter name)`,
      );
    chosen.add(match.name);
  });
  return projections.map((p) => p.name).filter((name, i, all) => chosen.has(name) && all.indexOf(name) === i);
}

/** "query (wq), key (wk), ...": an architecture's projections by role, with their parameter names. */
export function describeProjections(projections: readonly TunableProjection[]): string {
  return projections.map((p) => `${p.role} (${p.name})`).join(', ');
}
