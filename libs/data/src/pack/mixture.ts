/**
 * Mixtures (seqio's Mixture; Raffel et al. 2020, §3.5.2): several sources (whole pipeline sources, or mixture
 * components chosen by source and language) with weights, realised here as shares of
 * the packed tokens. Each source contributes whole documents in its order, cycling from the start when a small source
 * must be repeated; the plan picks for each source the document count whose tokens are nearest its target, so a
 * share misses its weight by at most half a document.
 */
export interface MixtureSource {
  name: string;
  weight: number;
  /** Tokens of each document, EOS included. */
  documentTokens: readonly number[];
}

export interface MixturePlan {
  /** Per source: how many documents to take (more than it has means repeating it). */
  take: Map<string, number>;
  targetTokens: Map<string, number>;
  plannedTokens: Map<string, number>;
  totalTokens: number;
}

export interface MixtureOptions {
  /** Total tokens wanted. Without it: as many as the sources give without repeating any. */
  totalTokens?: number;
}

export function planMixture(sources: readonly MixtureSource[], options: MixtureOptions = {}): MixturePlan {
  if (sources.length === 0) throw new Error('a mixture needs at least one source');
  const weightSum = sources.reduce((s, x) => s + x.weight, 0);
  if (!(weightSum > 0)) throw new Error('mixture weights must sum to more than 0');
  const available = sources.map((s) => s.documentTokens.reduce((a, b) => a + b, 0));
  for (const [i, s] of sources.entries())
    if (s.weight > 0 && available[i] === 0) throw new Error(`mixture source ${s.name} has no documents left after filtering`);
  const total =
    options.totalTokens ??
    Math.min(...sources.map((s, i) => (s.weight > 0 ? available[i] / (s.weight / weightSum) : Infinity)));
  const take = new Map<string, number>();
  const targetTokens = new Map<string, number>();
  const plannedTokens = new Map<string, number>();
  for (const s of sources) {
    const target = (total * s.weight) / weightSum;
    let tokens = 0;
    let n = 0;
    while (s.documentTokens.length > 0) {
      const next = s.documentTokens[n % s.documentTokens.length];
      // Take the next document while that lands nearer the target than stopping does.
      if (tokens + next - target > target - tokens) break;
      tokens += next;
      n++;
    }
    take.set(s.name, n);
    targetTokens.set(s.name, target);
    plannedTokens.set(s.name, tokens);
  }
  return { take, targetTokens, plannedTokens, totalTokens: [...plannedTokens.values()].reduce((a, b) => a + b, 0) };
}

/**
 * The order sources hand out documents: always the source furthest behind its share so far (smooth weighted round
 * robin on tokens), so every prefix of the packed stream is mixed too, not just the whole.
 */
export class MixtureInterleaver {
  private readonly emitted: number[];
  private readonly left: number[];
  private total = 0;

  constructor(private readonly shares: readonly number[], documents: readonly number[]) {
    this.emitted = shares.map(() => 0);
    this.left = [...documents];
  }

  /** Index of the source to take the next document from, or -1 when all are done. */
  next(): number {
    let best = -1;
    let bestDeficit = -Infinity;
    for (let i = 0; i < this.shares.length; i++) {
      if (this.left[i] === 0) continue;
      const deficit = this.shares[i] * this.total - this.emitted[i];
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = i;
      }
    }
    return best;
  }

  record(source: number, tokens: number): void {
    this.emitted[source] += tokens;
    this.left[source]--;
    this.total += tokens;
  }
}
