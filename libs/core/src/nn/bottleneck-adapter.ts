import { add, gelu, linear } from '../autodiff/ops.ts';
import type { Tape, Var } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import type { Rng } from '../rng.ts';
import { createParameter, type Parameter } from './parameter.ts';

/**
 * A bottleneck adapter (Houlsby et al. 2019, Figure 2): h + W_up·f(W_down·h + b_down) + b_up, with W_down [d, m],
 * W_up [m, d], m ≪ d. Inserted after a sublayer's output projection, before the residual add, so the frozen block
 * around it is untouched; the skip connection and the small initialisation (zero-mean Gaussian, std 1e-2, truncated
 * at two standard deviations; biases zero, as Houlsby et al. initialise theirs) make it start as nearly the
 * identity, so the pre-trained network's behaviour is where fine-tuning begins.
 */
export interface AdapterParams {
  readonly down: Parameter;
  readonly downBias: Parameter;
  readonly up: Parameter;
  readonly upBias: Parameter;
}

/** The settings of the adapters: their bottleneck width m. */
export interface AdapterSpec {
  size: number;
}

const INIT_STD = 1e-2;

function truncatedNormal(rng: Rng, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let z = rng.normal();
    while (Math.abs(z) > 2) z = rng.normal();
    out[i] = z * std;
  }
  return out;
}

/** An adapter of width spec.size on a d-wide stream. Names: <prefix>.down, .down_bias, .up, .up_bias. */
export function createAdapter(backend: Backend, rng: Rng, prefix: string, d: number, spec: AdapterSpec): AdapterParams {
  const m = spec.size;
  return {
    down: createParameter(backend, `${prefix}.down`, truncatedNormal(rng, d * m, INIT_STD), [d, m], true),
    downBias: createParameter(backend, `${prefix}.down_bias`, new Float32Array(m), [m], false),
    up: createParameter(backend, `${prefix}.up`, truncatedNormal(rng, m * d, INIT_STD), [m, d], true),
    upBias: createParameter(backend, `${prefix}.up_bias`, new Float32Array(d), [d], false),
  };
}

export function adapterParameters(p: AdapterParams | undefined): Parameter[] {
  return p ? [p.down, p.downBias, p.up, p.upBias] : [];
}

/** h [..., d] -> h + up(gelu(down(h))) [..., d]; GELU is the nonlinearity of BERT, the network Houlsby et al. adapt. */
export function adapterForward(tape: Tape, h: Var, p: AdapterParams): Var {
  const hidden = gelu(tape, linear(tape, h, tape.param(p.down), tape.param(p.downBias)));
  return add(tape, h, linear(tape, hidden, tape.param(p.up), tape.param(p.upBias)));
}
