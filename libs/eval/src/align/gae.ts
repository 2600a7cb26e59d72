/**
 * Generalized advantage estimation (Schulman et al. 2016, Eq. 16): with the TD residual
 *   δ_t = r_t + γ V(s_{t+1}) − V(s_t),   V(s_T) = 0 after the last token (the episode ends with the response),
 * the advantage is the exponentially weighted sum A_t = Σ_l (γλ)^l δ_{t+l}, computed backwards as
 * A_t = δ_t + γλ A_{t+1}. The value target is the λ-return R_t = A_t + V(s_t) (what PPO's value loss regresses on).
 * λ = 1 gives Monte-Carlo returns minus the baseline, λ = 0 the one-step TD residual.
 */
export interface Advantages {
  advantages: number[];
  returns: number[];
}

export function generalizedAdvantages(rewards: readonly number[], values: readonly number[], gamma: number, lambda: number): Advantages {
  if (rewards.length !== values.length) throw new Error(`GAE: ${rewards.length} rewards but ${values.length} values`);
  const n = rewards.length;
  const advantages = new Array<number>(n);
  let next = 0;
  for (let t = n - 1; t >= 0; t--) {
    const delta = rewards[t] + gamma * (t + 1 < n ? values[t + 1] : 0) - values[t];
    next = delta + gamma * lambda * next;
    advantages[t] = next;
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]) };
}

/**
 * Advantages shifted to mean 0 and scaled to unit variance over the whole rollout batch (Ziegler et al. 2019's
 * "whiten"), so the policy step's size does not depend on the reward's scale.
 */
export function whiten(sequences: readonly (readonly number[])[]): number[][] {
  const all = sequences.flat();
  if (all.length === 0) return sequences.map(() => []);
  const mean = all.reduce((a, x) => a + x, 0) / all.length;
  const variance = all.reduce((a, x) => a + (x - mean) ** 2, 0) / all.length;
  const scale = 1 / Math.sqrt(variance + 1e-8);
  return sequences.map((s) => s.map((x) => (x - mean) * scale));
}
