import { Rng, Var, modelReading, ops, uploadBatch, type Backend, type Batch, type Model, type Parameter, type Tape } from '@unilab/core';
import { createClassificationHead, headParameters, type ClassificationHead } from '../finetune/classifier.ts';

/**
 * PPO's value function V(s_t): a scalar head on the final hidden state of every position, read where the policy's
 * logits for the next response token are read (the state before that token).
 *
 * It sits on a network of its own, not on the policy's: InstructGPT initialises the value function from the reward
 * model (Ouyang et al. 2022 §3.5), and Stiennon et al. 2020 keep policy and value in separate transformers so that
 * the value loss's gradients, large and noisy while the value head is new, do not pull on the policy's weights.
 * A unilab Model also gives either its logits (forward) or its hidden states (hiddenStates) per pass, so a shared trunk
 * would run twice anyway. Pass a copy of the reward model's network and its head: the reward model itself stays
 * frozen as the judge.
 */
export interface ValueModel {
  model: Model;
  backend: Backend;
  head: ClassificationHead;
}

/**
 * A value model on `network` (on `backend`), its head a copy of `init`'s (the reward model's head, on the reward
 * model's backend) or, without one, freshly drawn from `seed`.
 */
export async function createValueModel(network: Model, backend: Backend, init: { head: ClassificationHead; backend: Backend } | null, seed: number): Promise<ValueModel> {
  const head = createClassificationHead(backend, new Rng(seed), network, 1, 'a value head');
  if (init) {
    if (init.head.weight.value.size !== head.weight.value.size)
      throw new Error(`value model: the reward model's head has ${init.head.weight.value.size} weights, a value head on this network needs ${head.weight.value.size}`);
    backend.write(head.weight.value, await init.backend.read(init.head.weight.value));
    backend.write(head.bias.value, await init.backend.read(init.head.bias.value));
  }
  return { model: network, backend, head };
}

/** Every parameter of the value model: its network's and its head's. */
export function valueParameters(value: ValueModel): Parameter[] {
  return [...value.model.params, ...headParameters(value.head)];
}

/** V of every position of the batch, a Var [rows · seqLen, 1]. */
export function positionValues(tape: Tape, value: ValueModel, batch: Batch): Var {
  const hidden = modelReading(value.model, 'hiddenStates', 'a value head').read(tape, uploadBatch(tape, batch));
  const [b, t, d] = hidden.shape;
  return ops.linear(tape, ops.reshape(tape, hidden, [b * t, d]), tape.param(value.head.weight), tape.param(value.head.bias));
}

/**
 * Σ_i x_i g_i over a Var and a constant of the same size: a scalar whose gradient with respect to x is g, how a
 * gradient computed outside the tape (ppo-loss.ts) enters the backward. One matmul [1, n] · [n, 1]: no new op.
 */
export function injectGradient(tape: Tape, x: Var, g: Float32Array): Var {
  const n = x.value.size;
  if (g.length !== n) throw new Error(`injectGradient: ${g.length} gradient values for a tensor of ${n}`);
  const constant = new Var(tape.own(tape.backend.fromArray(g, [n, 1])), false);
  return ops.reshape(tape, ops.linear(tape, ops.reshape(tape, x, [1, n]), constant), [1]);
}
