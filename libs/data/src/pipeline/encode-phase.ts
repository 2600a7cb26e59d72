import { join } from 'node:path';
import type { Tokenizer } from '@unilab/core';
import { TokenSpillWriter } from '../pack/token-spill.ts';
import type { MixtureMember } from './mixture-components.ts';
import type { PipelineEvents } from './run-pipeline.ts';
import { spilledDocuments } from './spilled-documents.ts';
import { utf8Length } from './stage-stats.ts';

export interface EncodeOutcome {
  /** Per member: each document's token count, in spill order (tokens-<member>.bin holds the ids). */
  lengths: number[][];
  encode: { documents: number; bytes: number; tokens: number; seconds: number };
}

/** The encode phase: tokenize each member's spilled documents into a token spill beside it in `work`. */
export async function encodeMembers(
  members: readonly MixtureMember[],
  spills: readonly string[],
  work: string,
  tokenizer: Tokenizer,
  events: PipelineEvents,
): Promise<EncodeOutcome> {
  const started = performance.now();
  const lengths: number[][] = [];
  const encode = { documents: 0, bytes: 0, tokens: 0, seconds: 0 };
  for (const [mi, member] of members.entries()) {
    const writer = await TokenSpillWriter.create(join(work, `tokens-${mi}.bin`));
    for await (const doc of spilledDocuments(spills[mi])) {
      const ids = tokenizer.encode(doc.text);
      await writer.add(ids);
      encode.bytes += utf8Length(doc.text);
      encode.tokens += ids.length;
      encode.documents++;
    }
    await writer.close();
    lengths.push(writer.lengths);
    events.onProgress?.({
      phase: 'encode',
      source: member.name,
      documents: encode.documents,
      bytes: encode.bytes,
      seconds: (performance.now() - started) / 1000,
      done: mi === members.length - 1,
    });
  }
  encode.seconds = (performance.now() - started) / 1000;
  return { lengths, encode };
}
