/**
 * T5's sentinel tokens (Raffel et al. 2020, §3.1.4): one unique token per corrupted span, shared by the input (where
 * the span was dropped) and the target (before the span's tokens). T5 reserves 100 (<extra_id_0> .. <extra_id_99>).
 * An example with more spans than sentinels reuses them in turn: spans stay in text order in both inputs and
 * targets, so the k-th sentinel of the input still pairs with the k-th of the target.
 */
export const SENTINEL_COUNT = 100;

export const sentinelTokenNames: readonly string[] = Array.from({ length: SENTINEL_COUNT }, (_, k) => `extra_id_${k}`);

/** The ids of the sentinels, in order, from the context's special tokens. */
export function sentinelIds(specialTokens: Readonly<Record<string, number>>, objective: string): number[] {
  return sentinelTokenNames.map((name) => {
    const id = specialTokens[name];
    if (id === undefined) throw new Error(`${objective}: context.specialTokens has no sentinel "${name}"`);
    return id;
  });
}
