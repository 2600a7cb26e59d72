import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tokenizer } from '@unilab/core';
import { MixtureInterleaver, planMixture, type MixturePlan } from '../pack/mixture.ts';
import { SequencePacker } from '../pack/sequence-packer.ts';
import { SHARD_FORMAT, SHARD_FORMAT_VERSION, dtypeFor, type ShardEntry, type ShardIndex, type SourceShare } from '../pack/shard-format.ts';
import { writeShard } from '../pack/shard-writer.ts';
import { readTokenSpill } from '../pack/token-spill.ts';
import type { RoutedMember } from './filter-phase.ts';
import type { MixtureMember } from './mixture-components.ts';
import type { PipelineSpec } from './pipeline-spec.ts';

/** What each member contributed to the packed dataset. */
interface Realised {
  documents: number;
  tokens: number;
  languages: Map<string, number>;
}

export interface PackOutcome {
  index: ShardIndex;
  packer: SequencePacker;
  shards: ShardEntry[];
  mixture: Record<string, SourceShare>;
  seconds: number;
}

/**
 * The pack phase: plan the mixture by weight (pack/mixture.ts), interleave the members' tokenized documents at their
 * rates and pack them into shards in `out`, then describe the result (the dataset's index, without writing it).
 */
export async function packMembers(
  spec: PipelineSpec,
  members: readonly MixtureMember[],
  routed: readonly RoutedMember[],
  lengths: readonly number[][],
  work: string,
  tokenizer: Tokenizer,
): Promise<PackOutcome> {
  const started = performance.now();
  const out = spec.output;
  const plan = planMixture(
    members.map((m, i) => ({ name: m.name, weight: m.weight, documentTokens: lengths[i].map((n) => n + 1) })),
    { totalTokens: spec.mixture.totalTokens },
  );
  const dtype = spec.pack.dtype === 'auto' ? dtypeFor(tokenizer.vocabSize) : spec.pack.dtype;
  if (dtype === 'uint16' && tokenizer.vocabSize > 65536)
    throw new Error(`pipeline.pack.dtype "uint16" cannot hold token ids of a ${tokenizer.vocabSize}-token vocabulary; use "uint32" or "auto"`);
  const packer = new SequencePacker(spec.pack.seqLen, spec.pack.sequencesPerShard, tokenizer.specialTokens.eos, tokenizer.specialTokens.pad);
  const weightSum = members.reduce((a, m) => a + m.weight, 0);
  const interleaver = new MixtureInterleaver(
    members.map((m) => m.weight / weightSum),
    members.map((m) => plan.take.get(m.name)!),
  );
  const readers = members.map((m, i) => readTokenSpill(join(work, `tokens-${i}.bin`), lengths[i], plan.take.get(m.name)!));
  const realised: Realised[] = members.map(() => ({ documents: 0, tokens: 0, languages: new Map<string, number>() }));
  const shards: ShardEntry[] = [];
  let document = 0;
  for (let s = interleaver.next(); s >= 0; s = interleaver.next()) {
    const next = await readers[s].next();
    if (next.done) throw new Error(`mixture member ${members[s].name} ran out of tokenized documents while packing`);
    interleaver.record(s, next.value.length + 1);
    const language = routed[s].languages[realised[s].documents % routed[s].languages.length];
    if (language) realised[s].languages.set(language, (realised[s].languages.get(language) ?? 0) + 1);
    realised[s].documents++;
    realised[s].tokens += next.value.length + 1;
    for (const shard of packer.add(document++, next.value)) shards.push(await writeShard(out, shards.length, shard, dtype));
  }
  for (const reader of readers) await reader.return(undefined);
  const last = packer.finish();
  if (last) shards.push(await writeShard(out, shards.length, last, dtype));
  await removeStaleShards(out, shards.length);

  const mixture = mixtureShares(members, realised, lengths, plan, packer.documentTokens);
  const index: ShardIndex = {
    format: SHARD_FORMAT,
    version: SHARD_FORMAT_VERSION,
    dtype,
    seqLen: spec.pack.seqLen,
    vocabSize: tokenizer.vocabSize,
    eos: tokenizer.specialTokens.eos,
    pad: tokenizer.specialTokens.pad,
    tokenizer: 'tokenizer.json',
    documents: packer.documents,
    documentTokens: packer.documentTokens,
    padTokens: packer.padTokens,
    sequences: shards.reduce((n, s) => n + s.sequences, 0),
    shards,
    sources: mixture,
  };
  return { index, packer, shards, mixture, seconds: (performance.now() - started) / 1000 };
}

/** Per member: planned and realised tokens, its share of the packed tokens, epochs over its documents, languages. */
function mixtureShares(
  members: readonly MixtureMember[],
  realised: readonly Realised[],
  lengths: readonly number[][],
  plan: MixturePlan,
  packedTokens: number,
): Record<string, SourceShare> {
  const weightSum = members.reduce((a, m) => a + m.weight, 0);
  const mixture: Record<string, SourceShare> = {};
  members.forEach((m, i) => {
    mixture[m.name] = {
      documents: realised[i].documents,
      tokens: realised[i].tokens,
      targetTokens: plan.targetTokens.get(m.name)!,
      plannedTokens: plan.plannedTokens.get(m.name)!,
      target: m.weight / weightSum,
      share: packedTokens > 0 ? realised[i].tokens / packedTokens : 0,
      epochs: lengths[i].length > 0 ? realised[i].documents / lengths[i].length : 0,
      languages: Object.fromEntries([...realised[i].languages].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    };
  });
  return mixture;
}

/** Shard files left by an earlier, larger run in the same directory would confuse a reader of the directory. */
async function removeStaleShards(dir: string, count: number): Promise<void> {
  for (const f of await readdir(dir)) {
    const m = /^shard-(\d{5})\.(bin|docs\.bin)$/.exec(f);
    if (m && Number(m[1]) >= count) await unlink(join(dir, f)).catch(() => {});
  }
}
