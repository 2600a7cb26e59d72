import { Rng, crc32, decodeCheckpoint, encodeCheckpoint, restoreTensors, type PluginRegistry, type TuningModules } from '@unilab/core';
import { readFileBytes, writeFileAtomic } from '@unilab/runner';
import { dirname, relative, resolve } from 'node:path';
import { createClassificationHead, headParameters, type Pooling } from './classifier.ts';
import { FINETUNE_METHODS, type FinetuneMethod } from './methods.ts';
import { loadPretrained } from './pretrained.ts';
import type { TunedClassifier } from './finetune.ts';

/**
 * A fine-tuned classifier on disk: a unilab checkpoint (safetensors) holding only the tensors fine-tuning changed,
 * the head's included (LoRA factors, or adapters and norms, a few percent of the network; every weight for full
 * fine-tuning, which changes them all), and in its header a reference to the pre-trained checkpoint: its path
 * relative to this file and its CRC-32, so a base that changed since is refused instead of silently mixed.
 */
export const FINETUNED_FORMAT = 'unilab.finetuned-classifier.v1';

interface FinetunedState {
  format: typeof FINETUNED_FORMAT;
  base: { path: string; crc32: number };
  method: FinetuneMethod;
  tuning?: TuningModules;
  labels: string[];
  maxTokens: number;
  pooling: Pooling;
  trained: string[];
}

export async function saveFinetuned(path: string, classifier: TunedClassifier, steps: number): Promise<void> {
  const { pretrained } = classifier;
  const finetuned: FinetunedState = {
    format: FINETUNED_FORMAT,
    base: { path: relative(dirname(resolve(path)), resolve(pretrained.path)), crc32: pretrained.crc32 },
    method: classifier.method,
    tuning: classifier.tuning,
    labels: [...classifier.labels],
    maxTokens: classifier.maxTokens,
    pooling: classifier.pooling,
    trained: classifier.trained.map((p) => p.name),
  };
  await writeFileAtomic(path, await encodeCheckpoint(pretrained.backend, classifier.trained, null, { step: steps, finetuned }));
}

export async function loadFinetuned(path: string, registry: PluginRegistry): Promise<TunedClassifier> {
  const checkpoint = decodeCheckpoint(await readFileBytes(path, 'fine-tuned checkpoint'), `checkpoint ${path}`);
  const state = (checkpoint.state as { finetuned?: FinetunedState }).finetuned;
  if (state?.format !== FINETUNED_FORMAT) throw new Error(`checkpoint ${path} is not a fine-tuned classifier (no ${FINETUNED_FORMAT} in its header)`);
  if (!(FINETUNE_METHODS as readonly string[]).includes(state.method)) throw new Error(`checkpoint ${path}: unknown fine-tuning method "${state.method}"`);
  const basePath = resolve(dirname(resolve(path)), state.base.path);
  const baseCrc = crc32(await readFileBytes(basePath, `base checkpoint of ${path}`));
  if (baseCrc !== state.base.crc32)
    throw new Error(`checkpoint ${path} was fine-tuned from ${basePath} with CRC-32 ${state.base.crc32}, but that file now has ${baseCrc}: the base changed`);
  const pretrained = await loadPretrained(basePath, registry, { tuning: state.tuning });
  const head = createClassificationHead(pretrained.backend, new Rng(0), pretrained.model, state.labels.length, 'fine-tuning');
  const byName = new Map([...pretrained.model.params, ...headParameters(head)].map((p) => [p.name, p]));
  const trained = state.trained.map((name) => {
    const p = byName.get(name);
    if (!p) throw new Error(`checkpoint ${path} holds ${name}, which the model rebuilt from ${basePath} does not have`);
    return p;
  });
  restoreTensors(pretrained.backend, checkpoint, trained, null, `checkpoint ${path}`);
  return { pretrained, head, method: state.method, tuning: state.tuning, labels: state.labels, trained, maxTokens: state.maxTokens, pooling: state.pooling };
}
