import type { AttentionMask } from '../backend/backend.ts';
import type { Tensor } from '../backend/tensor.ts';
import type { Tape, Var } from './tape.ts';

/**
 * Differentiable ops: each runs the backend's forward kernel and records the matching backward kernel.
 * Shapes follow the backend (row-major; "rows" = all leading dimensions).
 */

/** y = x·W (+ b). x: [..., in], W: [in, out], b: [out]. dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy. */
export function linear(tape: Tape, x: Var, w: Var, b?: Var): Var {
  const be = tape.backend;
  const xw = be.matmul(x.value, w.value);
  let y = xw;
  if (b) {
    y = be.addBias(xw, b.value);
    be.dispose(xw);
  }
  return tape.record('linear', y, b ? [x, w, b] : [x, w], (dy) => {
    if (x.requiresGrad) tape.accumulate(x, be.matmul(dy, w.value, false, true));
    if (w.requiresGrad) tape.accumulate(w, be.matmul(x.value, dy, true, false));
    if (b?.requiresGrad) tape.accumulate(b, be.sumRows(dy));
  });
}

/** y = x·Wᵀ with W: [out, in] (an output head tied to a [V, d] embedding table). dx = dy·W, dW = dyᵀ·x. */
export function linearTransposed(tape: Tape, x: Var, w: Var): Var {
  const be = tape.backend;
  return tape.record('linear-transposed', be.matmul(x.value, w.value, false, true), [x, w], (dy) => {
    if (x.requiresGrad) tape.accumulate(x, be.matmul(dy, w.value));
    if (w.requiresGrad) tape.accumulate(w, be.matmul(dy, x.value, true, false));
  });
}

/**
 * y = residual + h·W: the projection into the residual stream (attention's Wo, the FFN's W_down) with the residual add
 * in the matmul's epilogue, when the backend has matmulAdd; else linear then add, the same bits either way.
 * Backward: dh = dy·Wᵀ, dW = hᵀ·dy, and d residual = dy, handed on without the copy the add op makes.
 */
export function linearResidual(tape: Tape, residual: Var, h: Var, w: Var): Var {
  const be = tape.backend;
  if (!be.matmulAdd) return add(tape, residual, linear(tape, h, w));
  return tape.record('linear-residual', be.matmulAdd(h.value, w.value, residual.value), [residual, h, w], (dy) => {
    if (h.requiresGrad) tape.accumulate(h, be.matmul(dy, w.value, false, true));
    if (w.requiresGrad) tape.accumulate(w, be.matmul(h.value, dy, true, false));
    // Last: after this, dy may become the residual's gradient buffer and be accumulated into.
    tape.passThrough(residual, dy);
  });
}

/**
 * silu(h·W_gate) ⊙ (h·W_up), the SwiGLU FFN's first half (Shazeer 2020), in one backend call when the backend has
 * swigluProjection; else two linears and swiglu, the same bits either way. Backward: dgate, dup from SwiGLU's
 * backward; dW_gate = hᵀ·dgate, dW_up = hᵀ·dup, and dh = dgate·W_gateᵀ + dup·W_upᵀ as one matmul with the other
 * product added in its epilogue (the same bits as the two contributions summed, when h has no other consumer).
 */
export function swigluProjection(tape: Tape, h: Var, wGate: Var, wUp: Var): Var {
  const be = tape.backend;
  if (!be.swigluProjection || !be.matmulAdd) {
    const up = linear(tape, h, wUp);
    return swiglu(tape, linear(tape, h, wGate), up);
  }
  const { y, gate, up } = be.swigluProjection(h.value, wGate.value, wUp.value);
  tape.own(gate);
  tape.own(up);
  return tape.record('swiglu-projection', y, [h, wGate, wUp], (dy) => {
    const { dgate, dup } = be.swigluBackward(dy, gate, up);
    tape.own(dgate);
    tape.own(dup);
    if (h.requiresGrad) {
      const viaGate = tape.own(be.matmul(dgate, wGate.value, false, true));
      tape.accumulate(h, be.matmulAdd!(dup, wUp.value, viaGate, false, true));
      tape.free(viaGate);
    }
    if (wGate.requiresGrad) tape.accumulate(wGate, be.matmul(h.value, dgate, true, false));
    if (wUp.requiresGrad) tape.accumulate(wUp, be.matmul(h.value, dup, true, false));
    tape.free(dgate);
    tape.free(dup);
  });
}

/** Token embedding: ids i32 [...], table [V, D] -> [..., D]. */
export function embedding(tape: Tape, ids: Tensor, table: Var): Var {
  const be = tape.backend;
  return tape.record('embedding', be.embedding(ids, table.value), [table], (dy) => {
    tape.accumulate(table, be.embeddingBackward(ids, dy, table.shape[0]));
  });
}

export function rmsnorm(tape: Tape, x: Var, weight: Var, eps: number): Var {
  const be = tape.backend;
  const { y, rstd } = be.rmsnorm(x.value, weight.value, eps);
  tape.own(rstd);
  return tape.record('rmsnorm', y, [x, weight], (dy) => {
    const { dx, dweight } = be.rmsnormBackward(dy, x.value, weight.value, rstd);
    tape.accumulate(x, dx);
    tape.accumulate(weight, dweight);
  });
}

export function layernorm(tape: Tape, x: Var, weight: Var, bias: Var, eps: number): Var {
  const be = tape.backend;
  const { y, mean, rstd } = be.layernorm(x.value, weight.value, bias.value, eps);
  tape.own(mean);
  tape.own(rstd);
  return tape.record('layernorm', y, [x, weight, bias], (dy) => {
    const { dx, dweight, dbias } = be.layernormBackward(dy, x.value, weight.value, mean, rstd);
    tape.accumulate(x, dx);
    tape.accumulate(weight, dweight);
    tape.accumulate(bias, dbias);
  });
}

export function swiglu(tape: Tape, gate: Var, up: Var): Var {
  const be = tape.backend;
  return tape.record('swiglu', be.swiglu(gate.value, up.value), [gate, up], (dy) => {
    const { dgate, dup } = be.swigluBackward(dy, gate.value, up.value);
    tape.accumulate(gate, dgate);
    tape.accumulate(up, dup);
  });
}

export function gelu(tape: Tape, x: Var): Var {
  const be = tape.backend;
  return tape.record('gelu', be.gelu(x.value), [x], (dy) => tape.accumulate(x, be.geluBackward(dy, x.value)));
}

export function relu(tape: Tape, x: Var): Var {
  const be = tape.backend;
  return tape.record('relu', be.relu(x.value), [x], (dy) => tape.accumulate(x, be.reluBackward(dy, x.value)));
}

/**
 * Inverted dropout whose mask is a pure function of (seed tensor contents, salt): see Backend.dropout. The same
 * mask scales dy in the backward.
 */
export function dropout(tape: Tape, x: Var, rate: number, seed: Tensor, salt: number): Var {
  const be = tape.backend;
  return tape.record('dropout', be.dropout(x.value, rate, seed, salt), [x], (dy) => tape.accumulate(x, be.dropout(dy, rate, seed, salt)));
}

/**
 * Rotary embedding of x [B, T, H, D] at positions [B, T] (with blockPositions: GLM-130B's 2D rotary, one half of
 * each head per position dimension); its backward is the inverse rotation.
 */
export function rope(tape: Tape, x: Var, positions: Tensor, base: number, blockPositions?: Tensor): Var {
  const be = tape.backend;
  return tape.record('rope', be.rope(x.value, positions, base, false, blockPositions), [x], (dy) => {
    tape.accumulate(x, be.rope(dy, positions, base, true, blockPositions));
  });
}

/** Residual add. */
export function add(tape: Tape, a: Var, b: Var): Var {
  const be = tape.backend;
  return tape.record('add', be.add(a.value, b.value), [a, b], (dy) => {
    // Both inputs receive dy; each gets its own copy so accumulation can take ownership.
    if (a.requiresGrad) tape.accumulate(a, be.scale(dy, 1));
    if (b.requiresGrad) tape.accumulate(b, be.scale(dy, 1));
  });
}

/**
 * Elementwise product a ⊙ b of two same-shaped values: gates (GLU variants), position-dependent scales (xPos,
 * Sun et al. 2022, "A Length-Extrapolatable Transformer", scales the query at n by ζ^n and the key at m by ζ^-m). d(a⊙b) = dy⊙b da + dy⊙a db.
 */
export function mul(tape: Tape, a: Var, b: Var): Var {
  const be = tape.backend;
  return tape.record('mul', be.mul(a.value, b.value), [a, b], (dy) => {
    if (a.requiresGrad) tape.accumulate(a, be.mul(dy, b.value));
    if (b.requiresGrad) tape.accumulate(b, be.mul(dy, a.value));
  });
}

/** y = c·x for a constant c (LoRA's alpha / r). dx = c·dy. */
export function scale(tape: Tape, x: Var, c: number): Var {
  const be = tape.backend;
  return tape.record('scale', be.scale(x.value, c), [x], (dy) => tape.accumulate(x, be.scale(dy, c)));
}

/** A view with another shape (no copy). */
export function reshape(tape: Tape, x: Var, shape: readonly number[]): Var {
  const be = tape.backend;
  return tape.record('reshape', be.reshape(x.value, shape), [x], (dy) => {
    tape.accumulate(x, be.reshape(dy, x.shape));
  });
}

/** Attention over mask descriptors; q [B, Tq, H, D], k/v [B, Tk, Hkv, D], optional differentiable bias [H, Tq, Tk]. */
export function attention(tape: Tape, q: Var, k: Var, v: Var, mask: AttentionMask, scale: number, bias?: Var): Var {
  const be = tape.backend;
  const options = bias ? { scale, bias: bias.value } : { scale };
  const { out, lse } = be.attention(q.value, k.value, v.value, mask, options);
  tape.own(lse);
  const inputs = bias ? [q, k, v, bias] : [q, k, v];
  const result = tape.record('attention', out, inputs, (dout) => {
    const grads = be.attentionBackward(dout, q.value, k.value, v.value, result.value, lse, mask, options);
    tape.accumulate(q, grads.dq);
    tape.accumulate(k, grads.dk);
    tape.accumulate(v, grads.dv);
    if (bias && grads.dbias) tape.accumulate(bias, grads.dbias);
  });
  return result;
}

/** Mean masked cross-entropy -> scalar loss. The fused kernel computes d loss / d logits in its forward pass. */
export function crossEntropy(tape: Tape, logits: Var, targets: Tensor, lossMask: Tensor): Var {
  const be = tape.backend;
  const { loss, dlogits } = be.crossEntropy(logits.value, targets, lossMask);
  tape.own(dlogits);
  return tape.record('cross-entropy', loss, [logits], (dloss) => {
    // dloss is a device scalar (1, or 1/accumulation steps): scale on the device, never read it back. When it is the
    // backward's seed and that is 1, dlogits · 1 is dlogits bit for bit: hand it over instead of copying [N, V].
    if (tape.scalarValue(dloss) === 1) tape.accumulate(logits, dlogits);
    else tape.accumulate(logits, be.scaleBy(dlogits, dloss));
  });
}
