import type { FloatArray } from './types.ts';

/**
 * Fused softmax + cross-entropy with a loss mask, forward and gradient in one pass over the logits.
 *   logits, dlogits: [N, V]; targets: [N]; lossMask: [N] (0 or 1, or a weight).
 *   loss = Σ_r mask_r · (logsumexp(logits_r) - logits_r[target_r]) / Σ_r mask_r
 *   dlogits_r = mask_r / Σ mask · (softmax(logits_r) - onehot(target_r))
 * Returns the loss. With no unmasked row the loss and the gradient are 0.
 */
export function crossEntropyForwardBackward(
  logits: FloatArray,
  targets: Int32Array,
  lossMask: FloatArray,
  dlogits: FloatArray,
  n: number,
  v: number,
): number {
  let count = 0;
  for (let r = 0; r < n; r++) count += lossMask[r];
  let loss = 0;
  const norm = count > 0 ? 1 / count : 0;
  for (let r = 0; r < n; r++) {
    const o = r * v;
    const weight = lossMask[r];
    if (weight === 0) {
      dlogits.fill(0, o, o + v);
      continue;
    }
    const target = targets[r];
    if (target < 0 || target >= v) throw new RangeError(`cross-entropy: target ${target} at row ${r} is outside [0, ${v})`);
    let max = -Infinity;
    for (let j = 0; j < v; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < v; j++) sum += Math.exp(logits[o + j] - max);
    const logSum = Math.log(sum) + max;
    loss += weight * (logSum - logits[o + target]);
    const g = weight * norm;
    for (let j = 0; j < v; j++) dlogits[o + j] = g * Math.exp(logits[o + j] - logSum);
    dlogits[o + target] -= g;
  }
  return loss * norm;
}
