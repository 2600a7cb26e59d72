import { decodeCheckpoint, type Backend, type NamedTensor, type Parameter, type PluginRegistry, type TuningModules } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { architectureGenerates, buildModel, createBackend, loadedModel, parseTrainingSpec, readFileBytes, resolveTuning, type LoadedModel } from '@unilab/runner';
import { isAdapter, isLora, isNorm } from '../../finetune/methods.ts';
import type { StageTuning } from './align-job-spec.ts';

/**
 * The model a stage starts from: the checkpoint of the stage before (or the job's base), rebuilt with the stage's
 * tuning modules. LoRA factors the checkpoint holds are merged into their projections first, W ← W + (α/r)·A·B
 * (Hu et al. 2021 §4.1: the merged model computes the same function), so every stage adds LoRA to a plain network;
 * adapters cannot be merged (a nonlinear bottleneck) and stay, rebuilt from the checkpoint header's `tuning`.
 */
export interface StageModel {
  loaded: LoadedModel;
  /** The modules the model was built with (written into the stage's checkpoints, so loadModel rebuilds them). */
  tuning: TuningModules | undefined;
  /** The parameters the stage trains. */
  trained: Parameter[];
  /** Tensors of the checkpoint beside the model's (a reward model's head), by parameter name. */
  extra: Map<string, { shape: number[]; data: Float32Array }>;
}

export async function loadStageModel(path: string, registry: PluginRegistry, tuning: StageTuning, seed: number, backend?: Backend): Promise<StageModel> {
  const checkpoint = decodeCheckpoint(await readFileBytes(path, 'checkpoint'), `checkpoint ${path}`);
  const state = checkpoint.state as unknown as { spec?: unknown; tokenizer?: Record<string, unknown>; tuning?: TuningModules };
  if (!state.spec || !state.tokenizer) throw new Error(`checkpoint ${path} is not a model checkpoint (no spec and tokenizer in its header)`);
  const spec = parseTrainingSpec(state.spec);
  if (!architectureGenerates(spec.model.architecture, registry)) throw new Error(`checkpoint ${path} holds a ${spec.model.architecture} model, which cannot generate a response`);
  const tokenizer = tokenizerFromJSON(state.tokenizer);
  const tensors = mergedTensors(checkpoint.tensors, state.tuning, path);
  const kept = state.tuning?.adapters;
  if (kept && tuning.adapters) throw new Error(`checkpoint ${path} already holds adapters; a stage on it trains them ("full") or adds "lora"`);
  // LoRA's targets as the architecture names its projections (admission resolved a job's already; the names stay).
  const modules = resolveTuning(
    spec,
    registry,
    tuning.lora || tuning.adapters || kept
      ? {
          ...(tuning.lora && { lora: tuning.lora }),
          ...((tuning.adapters || kept) && { adapters: { size: tuning.adapters?.size ?? kept!.size } }),
          seed,
        }
      : undefined,
    'tuning.targets',
  );
  const on = backend ?? (await createBackend(spec.backend, spec.precision));
  const model = buildModel(spec, registry, on, tokenizer.vocabSize, modules);
  const used = new Set<string>();
  for (const p of model.params) {
    const t = tensors.get(p.name);
    if (!t) {
      if (isLora(p) || (tuning.adapters && isAdapter(p))) continue; // added by this stage, freshly initialised
      throw new Error(`checkpoint ${path} has no tensor for ${p.name}: it was written by a different model`);
    }
    if (t.shape.join(',') !== p.value.shape.join(',')) throw new Error(`checkpoint ${path}: ${p.name} has shape [${t.shape}], the model expects [${p.value.shape}]`);
    on.write(p.value, t.data);
    used.add(p.name);
  }
  const extra = new Map([...tensors].filter(([name]) => !used.has(name)));
  if (modules?.lora && !model.params.some(isLora))
    throw new Error(`architecture "${model.architecture}" declares the projections ${modules.lora.targets.join(', ')} (tunableProjections) but built no LoRA factors on them`);
  if (tuning.adapters && !model.params.some(isAdapter)) throw new Error(`architecture "${model.architecture}" built no adapters`);
  const trains =
    tuning.method === 'full' ? () => true : tuning.method === 'lora' ? isLora : (p: Parameter) => isAdapter(p) || (tuning.adapters!.norms && isNorm(p));
  return { loaded: loadedModel(model, tokenizer, on, spec, registry), tuning: modules, trained: model.params.filter(trains), extra };
}

/** The checkpoint's parameters by name, LoRA factors merged into their projections. */
function mergedTensors(tensors: ReadonlyMap<string, NamedTensor>, tuning: TuningModules | undefined, path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) if (name.startsWith('param/')) params.set(name.slice('param/'.length), { shape: [...t.shape], data: Float32Array.from(t.data) });
  for (const name of [...params.keys()].filter((n) => n.endsWith('.lora_a'))) {
    const base = name.slice(0, -'.lora_a'.length);
    const w = params.get(base);
    const a = params.get(name)!;
    const b = params.get(`${base}.lora_b`);
    if (!w || !b || !tuning?.lora) throw new Error(`checkpoint ${path}: LoRA factor ${name} without its projection, its B factor or the LoRA settings in the header`);
    const scale = tuning.lora.alpha / tuning.lora.rank;
    const [inDim, r] = a.shape;
    const outDim = b.shape[1];
    // W [in, out] += scale · A [in, r] · B [r, out]
    for (let i = 0; i < inDim; i++)
      for (let k = 0; k < r; k++) {
        const aik = scale * a.data[i * r + k];
        if (aik === 0) continue;
        for (let j = 0; j < outDim; j++) w.data[i * outDim + j] += aik * b.data[k * outDim + j];
      }
    params.delete(name);
    params.delete(`${base}.lora_b`);
  }
  return params;
}
