import { decodeCheckpoint, encodeCheckpoint, restoreTensors, type Backend, type DecodedCheckpoint, type Model, type Parameter, type PluginRegistry, type TuningModules } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { buildModel, createBackend, loadedModel, parseTrainingSpec, readFileBytes, resolveTuning, writeFileAtomic, type LoadedModel } from '@unilab/runner';
import { headParameters, type Pooling } from '../finetune/classifier.ts';
import { tuningTrains } from '../finetune/methods.ts';
import { createRewardModel, type RewardModel } from './reward-model.ts';

/**
 * The checkpoints the alignment stages read and write: a pre-training checkpoint's header (spec, model config,
 * tokenizer), so `loadModel` and `unilab generate` read them too, every weight of the network, and, when a stage
 * trained LoRA factors or adapters, those modules beside the weights they adapt with the `tuning` that built them
 * (runner's loadModel rebuilds them from it). A reward model adds its scalar head (`reward_head.weight`,
 * `reward_head.bias`) and its pooling; `aligned` records the stage and the checkpoint it started from.
 */
interface AlignedHeader {
  spec?: unknown;
  tokenizer?: Record<string, unknown>;
  tuning?: TuningModules;
  reward?: { pooling: Pooling; maxTokens: number };
}

export interface AlignedModel {
  loaded: LoadedModel;
  /** The tuning modules the model carries (from the checkpoint, or added now), if any. */
  tuning?: TuningModules;
  /** What a stage trains: with tuning modules, those (and with adapters the norms, as Houlsby et al.); else every weight. */
  trained: Parameter[];
  checkpoint: DecodedCheckpoint;
}

export interface LoadAlignedOptions {
  /**
   * Add these modules (LoRA on roles or the architecture's projection names, adapters) unless the checkpoint carries
   * modules already; then they must be the same.
   */
  tuning?: TuningModules;
  /** What a refused LoRA target is called in the error (the CLI's "--lora-targets"); default "tuning.lora.targets". */
  loraTargetsField?: string;
  /** Build on this backend (several models on one backend share its optimizer; PPO's policy and value model must). */
  backend?: Backend;
}

export async function loadAlignedModel(path: string, registry: PluginRegistry, options: LoadAlignedOptions = {}): Promise<AlignedModel> {
  const checkpoint = decodeCheckpoint(await readFileBytes(path, 'checkpoint'), `checkpoint ${path}`);
  const header = checkpoint.state as AlignedHeader;
  if (!header.spec || !header.tokenizer) throw new Error(`checkpoint ${path} has no spec and tokenizer in its header: pass a checkpoint written by unilab train or an align stage`);
  const spec = parseTrainingSpec(header.spec);
  const carried = resolveTuning(spec, registry, header.tuning, `checkpoint ${path}: tuning.lora.targets`);
  const asked = resolveTuning(spec, registry, options.tuning, options.loraTargetsField ?? 'tuning.lora.targets');
  if (carried && asked && JSON.stringify(carried) !== JSON.stringify(asked))
    throw new Error(`checkpoint ${path} already carries tuning modules ${JSON.stringify(carried)}; leave --lora / --adapter out (its modules train) or give the same ones`);
  const tuning = carried ?? asked;
  const tokenizer = tokenizerFromJSON(header.tokenizer);
  const backend = options.backend ?? (await createBackend(spec.backend, spec.precision));
  const model = buildModel(spec, registry, backend, tokenizer.vocabSize, tuning);
  const trains = tuningTrains(tuning);
  const held = model.params.filter((p) => checkpoint.tensors.has(`param/${p.name}`));
  const missing = model.params.filter((p) => !checkpoint.tensors.has(`param/${p.name}`));
  const notTuning = missing.filter((p) => !tuning || !/\.lora_[ab]$|_adapter\./.test(p.name));
  if (notTuning.length > 0) throw new Error(`checkpoint ${path} has no ${notTuning[0].name}: it was written by a different model`);
  if (tuning && !model.params.some((p) => /\.lora_[ab]$|_adapter\./.test(p.name)))
    throw new Error(`architecture "${model.architecture}" built none of the tuning modules ${JSON.stringify(tuning)}: it does not support them`);
  restoreTensors(backend, checkpoint, held, null, `checkpoint ${path}`);
  const loaded = loadedModel(model, tokenizer, backend, spec, registry);
  return { loaded, ...(tuning ? { tuning } : {}), trained: model.params.filter(trains), checkpoint };
}

function header(loaded: LoadedModel, stage: string, base: string, steps: number, tuning: TuningModules | undefined) {
  return {
    step: steps,
    spec: loaded.spec,
    model: { architecture: loaded.model.architecture, config: loaded.model.config },
    tokenizer: loaded.tokenizer.toJSON(),
    ...(tuning ? { tuning } : {}),
    aligned: { stage, base },
  };
}

/** The policy after a stage, as a checkpoint every loader of unilab reads. */
export async function saveAlignedModel(path: string, loaded: LoadedModel, stage: string, base: string, steps: number, tuning?: TuningModules): Promise<void> {
  await writeFileAtomic(path, await encodeCheckpoint(loaded.backend, loaded.model.params, null, header(loaded, stage, base, steps, tuning)));
}

const REWARD_HEAD = 'reward_head';
const named = (head: RewardModel['head']) => headParameters(head).map((p) => ({ ...p, name: p.name.replace(/^head\./, `${REWARD_HEAD}.`) }));

export async function saveRewardModel(path: string, rm: RewardModel, loaded: LoadedModel, base: string, steps: number, tuning?: TuningModules): Promise<void> {
  const state = { ...header(loaded, 'rm', base, steps, tuning), reward: { pooling: rm.pooling, maxTokens: rm.maxTokens } };
  await writeFileAtomic(path, await encodeCheckpoint(rm.backend, [...rm.model.params, ...named(rm.head)], null, state));
}

/** A reward model `saveRewardModel` wrote, with the network it scores with (`loaded`, for a value model to copy). */
export async function loadRewardModel(path: string, registry: PluginRegistry, backend?: Backend): Promise<{ rm: RewardModel; loaded: LoadedModel; tuning?: TuningModules }> {
  const aligned = await loadAlignedModel(path, registry, { backend });
  const reward = (aligned.checkpoint.state as AlignedHeader).reward;
  if (!reward) throw new Error(`checkpoint ${path} is not a reward model (no "reward" in its header): train one with unilab align rm`);
  const { loaded } = aligned;
  const rm: RewardModel = { ...createRewardModel(loaded, 0, reward.pooling), maxTokens: reward.maxTokens };
  restoreTensors(loaded.backend, aligned.checkpoint, named(rm.head), null, `reward model ${path}`);
  return { rm, loaded, ...(aligned.tuning ? { tuning: aligned.tuning } : {}) };
}

/** A copy of `source`'s weights in `target` (same architecture, same parameter names), on any backends. */
export async function copyWeights(source: Model, sourceBackend: Backend, target: Model, targetBackend: Backend): Promise<void> {
  const from = new Map(source.params.map((p) => [p.name, p]));
  for (const p of target.params) {
    const q = from.get(p.name);
    if (!q) throw new Error(`copy of weights: the source model has no ${p.name}`);
    targetBackend.write(p.value, await sourceBackend.read(q.value));
  }
}
