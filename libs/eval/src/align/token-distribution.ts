/**
 * Per-token readings of a logits array [rows · seqLen, V] (row-major, as Backend.read returns it): the log-probability
 * of the token taken and the entropy of the distribution, in float64 with the max subtracted before exp; and the
 * gradient of a weighted sum of log-probabilities with respect to the logits, ∂ log softmax(z)_a / ∂z = onehot(a) −
 * softmax(z), so a loss on log π reaches the model through its logits (ppo.ts).
 */
export interface TokenReading {
  logProb: number;
  entropy: number;
}

function softmaxAt(logits: ArrayLike<number>, vocab: number, at: number): { probs: Float64Array; logZ: number; max: number } {
  const base = at * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[base + v]);
  const probs = new Float64Array(vocab);
  let sum = 0;
  for (let v = 0; v < vocab; v++) {
    probs[v] = Math.exp(logits[base + v] - max);
    sum += probs[v];
  }
  for (let v = 0; v < vocab; v++) probs[v] /= sum;
  return { probs, logZ: max + Math.log(sum), max };
}

export function tokenReading(logits: ArrayLike<number>, vocab: number, at: number, token: number): TokenReading {
  const { probs, logZ } = softmaxAt(logits, vocab, at);
  let entropy = 0;
  for (let v = 0; v < vocab; v++) if (probs[v] > 0) entropy -= probs[v] * (logits[at * vocab + v] - logZ);
  return { logProb: logits[at * vocab + token] - logZ, entropy };
}

/** Adds c · (onehot(token) − softmax(logits at `at`)) into `grad` (same layout as the logits). */
export function addLogProbGradient(grad: Float32Array, logits: ArrayLike<number>, vocab: number, at: number, token: number, c: number): void {
  if (c === 0) return;
  const { probs } = softmaxAt(logits, vocab, at);
  const base = at * vocab;
  for (let v = 0; v < vocab; v++) grad[base + v] -= c * probs[v];
  grad[base + token] += c;
}
