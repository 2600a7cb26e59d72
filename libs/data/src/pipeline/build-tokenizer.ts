import { readFile } from 'node:fs/promises';
import type { Tokenizer } from '@unilab/core';
import { PieceCounter, trainBpe } from '../tokenizer/bpe-trainer.ts';
import { tokenizerFromJSON } from '../tokenizer/tokenizer-from-json.ts';
import type { PipelineSpec } from './pipeline-spec.ts';
import { spilledDocuments } from './spilled-documents.ts';
import { utf8Length } from './stage-stats.ts';
import type { PipelineEvents } from './run-pipeline.ts';

export interface BuiltTokenizer {
  tokenizer: Tokenizer;
  trained: boolean;
  trainingBytes: number;
  seconds: number;
}

/**
 * The pipeline's tokenizer: loaded from pipeline.tokenizer.path (it must hold the special tokens asked for), or a BPE
 * trained on at most maxTrainingBytes of the filtered documents, the same share of every mixture member's spill.
 */
export async function buildTokenizer(
  spec: PipelineSpec,
  spills: readonly { path: string; bytes: number }[],
  specialTokensFor: ((objective: string) => readonly string[]) | undefined,
  events: PipelineEvents,
): Promise<BuiltTokenizer> {
  const wanted = [...spec.tokenizer.specialTokens, ...spec.tokenizer.objectives.flatMap((o) => (specialTokensFor ? [...specialTokensFor(o)] : []))];
  const started = performance.now();
  if (spec.tokenizer.path) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readFile(spec.tokenizer.path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`pipeline.tokenizer.path: cannot read ${spec.tokenizer.path}: ${(err as Error).message}`);
    }
    const tokenizer = tokenizerFromJSON(json);
    const missing = wanted.filter((s) => tokenizer.specialTokens[s] === undefined);
    if (missing.length > 0) throw new Error(`pipeline.tokenizer.path: ${spec.tokenizer.path} lacks the special tokens ${missing.join(', ')}`);
    return { tokenizer, trained: false, trainingBytes: 0, seconds: (performance.now() - started) / 1000 };
  }
  const totalBytes = spills.reduce((n, s) => n + s.bytes, 0);
  const share = Math.min(1, spec.tokenizer.maxTrainingBytes / Math.max(1, totalBytes));
  const counter = new PieceCounter();
  let trainingBytes = 0;
  for (const spill of spills) {
    const budget = spill.bytes * share;
    let used = 0;
    for await (const doc of spilledDocuments(spill.path)) {
      if (used >= budget) break;
      counter.add(doc.text);
      used += utf8Length(doc.text);
    }
    trainingBytes += used;
  }
  const tokenizer = trainBpe(counter, { vocabSize: spec.tokenizer.vocabSize!, specialTokens: wanted });
  const seconds = (performance.now() - started) / 1000;
  events.onProgress?.({ phase: 'tokenizer', documents: counter.counts.size, bytes: trainingBytes, seconds, done: true });
  return { tokenizer, trained: true, trainingBytes, seconds };
}
