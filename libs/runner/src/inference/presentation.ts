import type { BatchConsumption, ContinuationLayout, InferenceTask, InfillingLayout, PluginRegistry, Tokenizer } from '@unilab/core';
import { objectiveComponents, type ObjectiveSpec } from '../objective-mixture.ts';
import { specialTokenList } from './prompt.ts';

/** A layout chosen for a model, the objective that declared it, and the tokenizer's ids of its special tokens. */
export interface Presented<L> {
  layout: L;
  /** The objective (a mixture's component) whose training format this is. */
  objective: string;
  /** Ids of the special tokens the layout names (checked to exist). */
  ids: Readonly<Record<string, number>>;
  /**
   * The architecture reads every row left to right (the decoder, T5's "Language model"): a prefix the layout marks
   * bidirectional is read causally all the same, and reports must say so.
   */
  causalModel?: boolean;
}

/** How one model reads prompts, per kind of task; null where no objective it trained declares the task. */
export interface ModelPresentation {
  architecture: string;
  /** What the architecture declares it reads (its batch form, positions and masks). */
  consumes: BatchConsumption;
  /** The architecture reads every row left to right whatever the layout's prefix (Presented.causalModel). */
  causalModel: boolean;
  lm: Presented<ContinuationLayout> | null;
  seq2seq: Presented<ContinuationLayout> | null;
  infilling: Presented<InfillingLayout> | null;
  /** UL2's modes: name → the tokens that lead an input (InferencePresentation.modes); null without mode tokens. */
  modes: Readonly<Record<string, readonly string[]>> | null;
}

/**
 * A task's preferred layouts when a mixture's components offer several: LM is best read where the model learned to
 * continue text causally, seq2seq where it learned a bidirectional input (UL2's modes, Tay et al. 2022 §3.1.3).
 * Otherwise the first component (in mixture order) that declares the task.
 */
const PREFERRED: Readonly<Record<'lm' | 'seq2seq', (layout: ContinuationLayout) => boolean>> = {
  lm: (l) => l.kind === 'causal' || l.kind === 'decoder-lm' || (l.kind === 'mask-query' && !l.bidirectionalInput),
  seq2seq: (l) => l.kind === 'prefix' || l.kind === 'encoder' || (l.kind === 'mask-query' && l.bidirectionalInput),
};

/** The special-token names a layout uses. */
export function layoutTokenNames(layout: ContinuationLayout | InfillingLayout): string[] {
  switch (layout.kind) {
    case 'causal':
      return [];
    case 'prefix':
    case 'encoder':
      return ['pad', ...layout.inputPrefix, ...layout.inputSuffix, ...layout.targetPrefix];
    case 'decoder-lm':
      return ['pad', ...layout.encoderInput];
    case 'mask-query':
      return [layout.mask, ...layout.inputSuffix];
    case 'sentinels':
      return ['eos', 'pad', 'extra_id_0', ...layout.inputPrefix];
    case 'blanks':
      return [layout.mask, 'sop', 'eop'];
    case 'cloze':
      return [layout.mask, 'eos', 'pad'];
  }
}

/**
 * How a model trained by `objective` on `architecture` reads prompts, from the objectives' own declarations
 * (ObjectivePlugin.inference). A tokenizer lacking a token a layout names is refused: the checkpoint does not match
 * its objective.
 */
export function modelPresentation(architecture: string, objective: ObjectiveSpec, registry: PluginRegistry, tokenizer: Tokenizer): ModelPresentation {
  const form = registry.architecture(architecture).consumes.form;
  const declared = objectiveComponents(objective).map((component) => {
    const plugin = registry.objective(component.name);
    return { name: plugin.name, presentation: plugin.inference?.(plugin.configSchema.parse(component.config, `spec.objective${component.path}.config`), form) ?? {} };
  });
  const causalModel = registry.architecture(architecture).attention === 'causal';
  const resolve = <L extends ContinuationLayout | InfillingLayout>(name: string, layout: L): Presented<L> => {
    const ids: Record<string, number> = {};
    for (const token of layoutTokenNames(layout)) {
      const id = tokenizer.specialTokens[token];
      if (id === undefined)
        throw new Error(`the ${name} objective reads prompts with the special token "${token}", which this model's tokenizer lacks (it has ${specialTokenList(tokenizer)})`);
      ids[token] = id;
    }
    return { layout, objective: name, ids, ...(causalModel && { causalModel }) };
  };
  const pick = <T extends InferenceTask>(task: T, preferred?: (layout: ContinuationLayout) => boolean) => {
    const offering = declared.filter((d) => d.presentation[task] !== undefined);
    const chosen = (preferred && offering.find((d) => preferred(d.presentation[task] as ContinuationLayout))) ?? offering[0];
    return chosen ? resolve(chosen.name, chosen.presentation[task]!) : null;
  };
  return {
    architecture,
    consumes: registry.architecture(architecture).consumes,
    causalModel,
    lm: pick('lm', PREFERRED.lm) as Presented<ContinuationLayout> | null,
    seq2seq: pick('seq2seq', PREFERRED.seq2seq) as Presented<ContinuationLayout> | null,
    infilling: pick('infilling') as Presented<InfillingLayout> | null,
    modes: declared.find((d) => d.presentation.modes)?.presentation.modes ?? null,
  };
}

/** One line for reports: how the input and target are laid out, e.g. `prefix: <S2S> input <eos> → target (ul2)`. */
export function describeLayout(presented: Presented<ContinuationLayout | InfillingLayout>): string {
  const t = (names: readonly string[]) => names.map((n) => `<${n}> `).join('');
  const l = presented.layout;
  const read = presented.causalModel ? 'read causally' : 'bidirectional';
  const how = (() => {
    switch (l.kind) {
      case 'causal':
        return 'causal: input target, left to right';
      case 'prefix':
        return `prefix: ${t(l.inputPrefix)}input ${t(l.inputSuffix)}${read} → ${t(l.targetPrefix)}target${l.glm2d ? ' (2D positions)' : ''}`;
      case 'encoder':
        return `encoder: ${t(l.inputPrefix)}input ${t(l.inputSuffix)}→ decoder <pad> ${t(l.targetPrefix)}target`;
      case 'decoder-lm':
        return `decoder-lm: encoder ${t(l.encoderInput)}→ decoder <pad> input target`;
      case 'mask-query':
        return `mask-query: ${l.bidirectionalInput ? `${read} ` : ''}input ${t(l.inputSuffix)}target-so-far <${l.mask}>, one query per target token`;
      case 'sentinels':
        return `sentinels: ${t(l.inputPrefix)}text with <extra_id_k> per span <eos> → <extra_id_k> span ...`;
      case 'blanks':
        return `blanks: Part A with <${l.mask}> per span, Part B <sop> span <eop> in text order`;
      case 'cloze':
        return `cloze: every span token shown as <${l.mask}>, predicted from the whole text`;
    }
  })();
  return `${how} (${presented.objective})`;
}
