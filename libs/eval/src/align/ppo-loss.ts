/**
 * PPO's two losses on per-token figures, with their gradients, in float64 (Schulman et al. 2017):
 *
 * policy  L^CLIP = −mean_t min(ρ_t A_t, clip(ρ_t, 1 − ε, 1 + ε) A_t),   ρ_t = exp(log π_θ(a_t|s_t) − log π_old(a_t|s_t))
 *         (Eq. 7). ∂L/∂log π_θ(a_t|s_t) = −ρ_t A_t / N where the unclipped term is the minimum, 0 where the clipped
 *         one is (the clip has taken the gradient away: the ratio already moved ε the way A_t asks).
 * value   L^V = ½ mean_t max((V_t − R_t)², (V_old,t + clip(V_t − V_old,t, −ε_v, ε_v) − R_t)²), the clipped value
 *         loss of OpenAI's PPO implementation and Ziegler et al. 2019, so the value head, like the policy, moves at
 *         most ε_v from the values the advantages were computed with.
 *
 * The mean is over every response token of the minibatch. The model's backward takes these gradients as they are
 * (ppo.ts), so the chain rule is split at log π and V: exact, not an approximation.
 */
export interface PolicyLoss {
  loss: number;
  /** ∂L^CLIP/∂log π_θ(a_t|s_t) for each token. */
  gradLogProb: number[];
  /** Share of tokens whose ratio left [1 − ε, 1 + ε]. */
  clipFraction: number;
  /** ½ mean (log π_θ − log π_old)²: the usual estimate of KL(π_old ‖ π_θ), how far this minibatch has moved. */
  approxKl: number;
}

export function clippedPolicyLoss(logProb: readonly number[], oldLogProb: readonly number[], advantages: readonly number[], epsilon: number): PolicyLoss {
  const n = logProb.length;
  let loss = 0;
  let clipped = 0;
  let approxKl = 0;
  const gradLogProb = new Array<number>(n);
  for (let t = 0; t < n; t++) {
    const diff = logProb[t] - oldLogProb[t];
    const ratio = Math.exp(diff);
    const a = advantages[t];
    const unclipped = ratio * a;
    const bounded = Math.min(1 + epsilon, Math.max(1 - epsilon, ratio)) * a;
    loss -= Math.min(unclipped, bounded) / n;
    gradLogProb[t] = unclipped <= bounded ? (-a * ratio) / n : 0;
    if (Math.abs(ratio - 1) > epsilon) clipped++;
    approxKl += (0.5 * diff * diff) / n;
  }
  return { loss, gradLogProb, clipFraction: n === 0 ? 0 : clipped / n, approxKl };
}

export interface ValueLoss {
  loss: number;
  /** ∂L^V/∂V_t for each token. */
  gradValue: number[];
  /** Share of tokens whose value left [V_old − ε_v, V_old + ε_v]. */
  clipFraction: number;
}

export function clippedValueLoss(values: readonly number[], oldValues: readonly number[], returns: readonly number[], epsilon: number): ValueLoss {
  const n = values.length;
  let loss = 0;
  let clipped = 0;
  const gradValue = new Array<number>(n);
  for (let t = 0; t < n; t++) {
    const step = values[t] - oldValues[t];
    const bounded = oldValues[t] + Math.min(epsilon, Math.max(-epsilon, step));
    const free = (values[t] - returns[t]) ** 2;
    const held = (bounded - returns[t]) ** 2;
    loss += (0.5 * Math.max(free, held)) / n;
    const inside = Math.abs(step) < epsilon;
    gradValue[t] = free >= held ? (values[t] - returns[t]) / n : inside ? (bounded - returns[t]) / n : 0;
    if (!inside) clipped++;
  }
  return { loss, gradValue, clipFraction: n === 0 ? 0 : clipped / n };
}
