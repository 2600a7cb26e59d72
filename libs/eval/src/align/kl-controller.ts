/**
 * The coefficient β of the per-token KL penalty −β(log π(a|s) − log π_ref(a|s)) that keeps the PPO policy near the
 * SFT model it started from (InstructGPT, Ouyang et al. 2022 Eq. 2). Fixed, or adaptive as in Ziegler et al. 2019
 * §2.2: after each batch with measured KL (nats per response, summed over its tokens)
 *   e = clip(KL / KL_target − 1, −0.2, 0.2),   β ← β (1 + e · n / horizon),
 * n the responses in the batch: β grows while the policy runs away from the target KL and shrinks while it stays
 * below, the horizon setting how many responses it takes to change β by about e·β. The whole state is β, plain JSON,
 * so a resumed run continues with the same coefficient.
 */
export type KlControl = { kind: 'fixed'; beta: number } | { kind: 'adaptive'; beta: number; target: number; horizon: number };

export interface KlControllerState {
  beta: number;
}

export function checkKlControl(control: KlControl): void {
  if (!(control.beta >= 0 && Number.isFinite(control.beta))) throw new Error(`ppo: kl.beta must be a finite number >= 0, got ${control.beta}`);
  if (control.kind === 'adaptive') {
    if (!(control.target > 0)) throw new Error(`ppo: kl.target (the adaptive controller's target KL, nats) must be > 0, got ${control.target}`);
    if (!(control.horizon > 0)) throw new Error(`ppo: kl.horizon (responses) must be > 0, got ${control.horizon}`);
    if (control.beta === 0) throw new Error('ppo: an adaptive KL controller cannot start from beta 0 (it scales beta multiplicatively)');
  }
}

/** β after a batch of `responses` responses whose mean KL to the reference was `kl`. */
export function nextBeta(control: KlControl, state: KlControllerState, kl: number, responses: number): number {
  if (control.kind === 'fixed') return state.beta;
  const error = Math.min(0.2, Math.max(-0.2, kl / control.target - 1));
  return state.beta * (1 + (error * responses) / control.horizon);
}
