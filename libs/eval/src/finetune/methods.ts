import { DEFAULT_LORA_TARGETS, type Parameter, type TuningModules } from '@unilab/core';

/**
 * The three ways a pre-trained network is adapted to a labelled task, each with its classification head trained:
 *   full     every pre-trained weight trains (the baseline every PEFT paper compares with);
 *   lora     the network is frozen; LoRA factors on the chosen projections train (Hu et al. 2021);
 *   adapter  the network is frozen; bottleneck adapters after every attention and feed-forward sublayer train, and
 *            the norms' gains (and biases) with them (Houlsby et al. 2019, Figure 2: the adapters, the layer
 *            normalisation parameters and the classification layer are what trains).
 */
export const FINETUNE_METHODS = ['full', 'lora', 'adapter'] as const;
export type FinetuneMethod = (typeof FINETUNE_METHODS)[number];

export interface MethodOptions {
  /**
   * LoRA rank r and alpha; the projections it adapts, by role ("query", "value", "ffn-up", ...) or by the names the
   * architecture declares (ArchitecturePlugin.tunableProjections: the built-ins' wq, wv, ...). Hu et al. §7.1: query
   * and value work as well as all four attention projections.
   */
  loraRank: number;
  loraAlpha: number;
  loraTargets: readonly string[];
  /** Adapter bottleneck width m. */
  adapterSize: number;
  /** Train the norms with the adapters (Houlsby et al.); false trains the adapters alone. */
  adapterNorms: boolean;
  /** Seeds the added modules' and the head's initialisation. */
  seed: number;
}

export const DEFAULT_METHOD_OPTIONS: MethodOptions = {
  loraRank: 8,
  loraAlpha: 16,
  loraTargets: DEFAULT_LORA_TARGETS,
  adapterSize: 16,
  adapterNorms: true,
  seed: 1,
};

/** What a method adds to the model and which of the model's parameters it trains (the head always trains). */
export interface MethodPlan {
  method: FinetuneMethod;
  tuning?: TuningModules;
  trains(p: Parameter): boolean;
}

export const isNorm = (p: Parameter) => /(^|\.)(attn_norm|cross_norm|ffn_norm|norm)(_bias)?$/.test(p.name);
export const isLora = (p: Parameter) => /\.lora_[ab]$/.test(p.name);
export const isAdapter = (p: Parameter) => /_adapter\.(down|up)(_bias)?$/.test(p.name);

export function methodPlan(method: FinetuneMethod, o: MethodOptions): MethodPlan {
  if (method === 'full') return { method, trains: () => true };
  if (method === 'lora')
    return { method, tuning: { lora: { rank: o.loraRank, alpha: o.loraAlpha, targets: o.loraTargets }, seed: o.seed }, trains: isLora };
  return { method, tuning: { adapters: { size: o.adapterSize }, seed: o.seed }, trains: (p) => isAdapter(p) || (o.adapterNorms && isNorm(p)) };
}

/**
 * What trains when a model carries `tuning`'s modules: the LoRA factors, or the adapters with the norms (Houlsby et
 * al.); every parameter when it carries none (full fine-tuning).
 */
export function tuningTrains(tuning: TuningModules | undefined): (p: Parameter) => boolean {
  if (!tuning) return () => true;
  return (p) => (tuning.lora !== undefined && isLora(p)) || (tuning.adapters !== undefined && (isAdapter(p) || isNorm(p)));
}

export function parseMethods(value: string): FinetuneMethod[] {
  if (value === 'all') return [...FINETUNE_METHODS];
  const methods = value.split(',').map((m) => m.trim());
  for (const m of methods)
    if (!(FINETUNE_METHODS as readonly string[]).includes(m))
      throw new Error(`--method: unknown method "${m}"; use one of ${FINETUNE_METHODS.join(', ')} or all (a comma list is fine)`);
  return methods as FinetuneMethod[];
}
