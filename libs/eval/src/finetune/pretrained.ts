import { decodeCheckpoint, restoreTensors, type Backend, type BatchConsumption, type DecodedCheckpoint, type Model, type Parameter, type PluginRegistry, type Tokenizer, type TuningModules } from '@unilab/core';
import { crc32 } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { buildModel, createBackend, parseTrainingSpec, readFileBytes, resolveTuning, type BackendName, type TrainingSpec } from '@unilab/runner';

/** A pre-trained model rebuilt for fine-tuning: its weights from the checkpoint, plus any modules `tuning` added. */
export interface Pretrained {
  path: string;
  /** CRC-32 of the checkpoint file, so a fine-tuned checkpoint can tell that its base has not changed. */
  crc32: number;
  spec: TrainingSpec;
  model: Model;
  /** What its architecture declares it reads (its batch form and masks): how a classifier lays out its inputs. */
  reads: BatchConsumption;
  tokenizer: Tokenizer;
  backend: Backend;
  /** The pre-trained parameters (filled from the checkpoint). */
  base: Parameter[];
  /** The parameters tuning added (LoRA factors, adapters), freshly initialised. */
  added: Parameter[];
  /** The modules added, LoRA's targets resolved to the architecture's projection names (absent: none). */
  tuning?: TuningModules;
}

export interface LoadPretrainedOptions {
  tuning?: TuningModules;
  /** Where LoRA's targets came from, for a refused one: `<field>[j]: LoRA target ...` (default "loraTargets"). */
  loraTargetsField?: string;
  /** Run on this backend instead of the spec's. */
  backend?: BackendName;
}

export async function loadPretrained(path: string, registry: PluginRegistry, options: LoadPretrainedOptions = {}): Promise<Pretrained> {
  const bytes = await readFileBytes(path, 'checkpoint');
  const checkpoint = decodeCheckpoint(bytes, `checkpoint ${path}`);
  const state = checkpoint.state as unknown as { spec?: unknown; tokenizer?: Record<string, unknown> };
  if (!state.spec || !state.tokenizer) throw new Error(`checkpoint ${path} is not a pre-training checkpoint (no spec and tokenizer in its header)`);
  const spec = parseTrainingSpec(state.spec);
  const tokenizer = tokenizerFromJSON(state.tokenizer);
  const tuning = resolveTuning(spec, registry, options.tuning, options.loraTargetsField ?? 'loraTargets');
  // The checkpoint's own backend computes in its precision; another one, asked for by name, computes in f32 (its only mode).
  const kind = options.backend ?? spec.backend;
  const backend = await createBackend(kind, kind === spec.backend ? spec.precision : 'f32');
  const model = buildModel(spec, registry, backend, tokenizer.vocabSize, tuning);
  const { base, added } = splitParameters(model, checkpoint, path);
  checkTuningApplied(model, added, tuning);
  restoreTensors(backend, checkpoint, base, null, `checkpoint ${path}`);
  const reads = registry.architecture(spec.model.architecture).consumes;
  return { path, crc32: crc32(bytes), spec, model, reads, tokenizer, backend, base, added, ...(tuning && { tuning }) };
}

/** Parameters the checkpoint holds are pre-trained; the rest were added by tuning. Every checkpoint tensor must be used. */
function splitParameters(model: Model, checkpoint: DecodedCheckpoint, path: string): { base: Parameter[]; added: Parameter[] } {
  const base = model.params.filter((p) => checkpoint.tensors.has(`param/${p.name}`));
  const added = model.params.filter((p) => !checkpoint.tensors.has(`param/${p.name}`));
  const stored = [...checkpoint.tensors.keys()].filter((k) => k.startsWith('param/'));
  if (stored.length !== base.length) {
    const names = new Set(base.map((p) => `param/${p.name}`));
    const unused = stored.filter((k) => !names.has(k));
    throw new Error(`checkpoint ${path} holds ${unused.slice(0, 3).join(', ')}, which the rebuilt model does not have: it was written by a different model`);
  }
  return { base, added };
}

/**
 * Every projection LoRA targets (resolved: names the architecture declared) got factors, and adapters were inserted:
 * an architecture that declares a projection it does not adapt, or ignores adapters, is refused.
 */
function checkTuningApplied(model: Model, added: Parameter[], tuning: TuningModules | undefined): void {
  for (const target of tuning?.lora?.targets ?? [])
    if (!added.some((p) => p.name.endsWith(`.${target}.lora_a`)))
      throw new Error(
        `architecture "${model.architecture}" declares the projection "${target}" (tunableProjections) but built no LoRA factors on it: its create() must pass ModelEnvironment.tuning.lora to createLora for every weight it declares`,
      );
  if (tuning?.adapters && !added.some((p) => p.name.includes('_adapter.')))
    throw new Error(`architecture "${model.architecture}" built no adapters: it does not support ModelEnvironment.tuning.adapters`);
}
