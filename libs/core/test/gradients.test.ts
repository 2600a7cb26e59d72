import { describe, expect, it } from 'vitest';
import type { AttentionMask } from '../src/backend/backend.ts';
import type { Tensor } from '../src/backend/tensor.ts';
import { Tape, Var } from '../src/autodiff/tape.ts';
import * as ops from '../src/autodiff/ops.ts';
import { Rng } from '../src/rng.ts';
import { f64, gradCheck, randomArray } from './gradcheck.ts';

// Every op's backward against central finite differences in float64, on odd shapes.
const TOL = 1e-6;

describe('backward kernels match central finite differences (float64)', () => {
  const rng = new Rng(7);
  const t = (n: number[], scale = 1) => f64.fromArray(randomArray(rng, n.reduce((a, b) => a * b, 1), scale), n);

  it.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])('matmul transA=%s transB=%s', (ta, tb) => {
    const [m, k, n] = [5, 7, 3];
    const a = t(ta ? [k, m] : [m, k]);
    const b = t(tb ? [n, k] : [k, n]);
    const err = gradCheck(
      [a, b],
      ([a, b]) => f64.matmul(a, b, ta, tb),
      ([a, b], dy) => {
        // dA = dC·op(B)ᵀ, dB = op(A)ᵀ·dC, transposed back into each operand's storage layout.
        const da = ta ? f64.matmul(b, dy, tb, true) : f64.matmul(dy, b, false, !tb);
        const db = tb ? f64.matmul(dy, a, true, ta) : f64.matmul(a, dy, !ta, false);
        return [da, db];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each([
    [false, false],
    [false, true],
    [true, false],
  ])('fused matmul + residual add, transA=%s transB=%s', (ta, tb) => {
    const [m, k, n] = [5, 7, 3];
    const [a, b, r] = [t(ta ? [k, m] : [m, k]), t(tb ? [n, k] : [k, n]), t([m, n])];
    const err = gradCheck(
      [a, b, r],
      ([a, b, r]) => f64.matmulAdd(a, b, r, ta, tb),
      ([a, b], dy) => {
        const da = ta ? f64.matmul(b, dy, tb, true) : f64.matmul(dy, b, false, !tb);
        const db = tb ? f64.matmul(dy, a, true, ta) : f64.matmul(a, dy, !ta, false);
        return [da, db, dy];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  /** The gradients the tape gives the inputs of `op` for d output = dy (copies, read before the tape is released). */
  const tapeGrads = (xs: Tensor[], op: (tape: Tape, vs: Var[]) => Var, dy: Tensor): Tensor[] => {
    const tape = new Tape(f64);
    const vs = xs.map((x) => new Var(x, true));
    const y = op(tape, vs);
    const probe = tape.record('probe', f64.zeros([1]), [y], () => tape.accumulate(y, f64.scale(dy, 1)));
    tape.backward(probe);
    const grads = vs.map((v) => f64.fromArray(Float64Array.from(f64.readFloat(v.grad!)) as unknown as Float32Array, v.shape));
    tape.release();
    return grads;
  };
  const tapeOutput = (xs: Tensor[], op: (tape: Tape, vs: Var[]) => Var): Tensor => {
    const tape = new Tape(f64, false);
    const y = op(tape, xs.map((x) => new Var(x, false)));
    const out = f64.scale(y.value, 1);
    tape.release();
    return out;
  };

  it('ops.linearResidual through the tape (the residual gets dy handed on)', () => {
    const op = (tape: Tape, [r, h, w]: Var[]) => ops.linearResidual(tape, r, h, w);
    const xs = [t([2, 3, 4]), t([2, 3, 5]), t([5, 4])];
    expect(gradCheck(xs, (xs) => tapeOutput(xs, op), (xs, dy) => tapeGrads(xs, op, dy), rng)).toBeLessThan(TOL);
  });

  it('ops.swigluProjection through the tape (dh = dgate·Wgᵀ + dup·Wuᵀ in one fused matmul)', () => {
    const op = (tape: Tape, [h, wg, wu]: Var[]) => ops.swigluProjection(tape, h, wg, wu);
    const xs = [t([2, 3, 5]), t([5, 7]), t([5, 7])];
    expect(gradCheck(xs, (xs) => tapeOutput(xs, op), (xs, dy) => tapeGrads(xs, op, dy), rng)).toBeLessThan(TOL);
  });

  it('bias add', () => {
    const err = gradCheck(
      [t([3, 5]), t([5])],
      ([x, b]) => f64.addBias(x, b),
      (_, dy) => [f64.scale(dy, 1), f64.sumRows(dy)],
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('embedding', () => {
    const ids = f64.fromArray(new Int32Array([3, 0, 3, 6, 1]), [5]);
    const err = gradCheck(
      [ids, t([7, 3])],
      ([ids, table]) => f64.embedding(ids, table),
      ([ids], dy) => [undefined, f64.embeddingBackward(ids, dy, 7)],
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('rmsnorm', () => {
    const err = gradCheck(
      [t([4, 9]), t([9])],
      ([x, w]) => f64.rmsnorm(x, w, 1e-5).y,
      ([x, w], dy) => {
        const { dx, dweight } = f64.rmsnormBackward(dy, x, w, f64.rmsnorm(x, w, 1e-5).rstd);
        return [dx, dweight];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('layernorm', () => {
    const err = gradCheck(
      [t([3, 7]), t([7]), t([7])],
      ([x, w, b]) => f64.layernorm(x, w, b, 1e-5).y,
      ([x, w, b], dy) => {
        const { mean, rstd } = f64.layernorm(x, w, b, 1e-5);
        const g = f64.layernormBackward(dy, x, w, mean, rstd);
        return [g.dx, g.dweight, g.dbias];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('swiglu', () => {
    const err = gradCheck(
      [t([3, 11]), t([3, 11])],
      ([g, u]) => f64.swiglu(g, u),
      ([g, u], dy) => {
        const r = f64.swigluBackward(dy, g, u);
        return [r.dgate, r.dup];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('gelu', () => {
    const err = gradCheck([t([2, 13], 2)], ([x]) => f64.gelu(x), ([x], dy) => [f64.geluBackward(dy, x)], rng);
    expect(err).toBeLessThan(TOL);
  });

  it('rope (odd head count, positions with gaps)', () => {
    const pos = f64.fromArray(new Int32Array([0, 1, 2, 7, 0, 5]), [2, 3]);
    const err = gradCheck(
      [t([2, 3, 3, 6]), pos],
      ([x, p]) => f64.rope(x, p, 10000),
      ([, p], dy) => [f64.rope(dy, p, 10000, true)],
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('residual add and scale', () => {
    const err = gradCheck([t([5, 3]), t([5, 3])], ([a, b]) => f64.add(a, b), (_, dy) => [f64.scale(dy, 1), f64.scale(dy, 1)], rng);
    expect(err).toBeLessThan(TOL);
  });

  it('elementwise multiply: da = dy ⊙ b, db = dy ⊙ a', () => {
    const err = gradCheck([t([4, 3, 5]), t([4, 3, 5])], ([a, b]) => f64.mul(a, b), ([a, b], dy) => [f64.mul(dy, b), f64.mul(dy, a)], rng);
    expect(err).toBeLessThan(TOL);
  });

  it('cross-entropy with a loss mask (mean over unmasked rows)', () => {
    const targets = f64.fromArray(new Int32Array([2, 0, 4, 1, 3]), [5]);
    const lossMask = f64.fromArray(new Float32Array([1, 0, 1, 1, 0]), [5]);
    const err = gradCheck(
      [t([5, 5]), targets, lossMask],
      ([logits, tg, m]) => f64.crossEntropy(logits, tg, m).loss,
      ([logits, tg, m], dy) => [f64.scaleBy(f64.crossEntropy(logits, tg, m).dlogits, dy)],
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  const masks: Record<string, { seg: number[]; prefix: number[] }> = {
    causal: { seg: [0, 0, 0, 0, 0], prefix: [0, 0, 0, 0, 0] },
    'prefix-lm': { seg: [0, 0, 0, 0, 0], prefix: [3, 3, 3, 3, 3] },
    bidirectional: { seg: [0, 0, 0, 0, 0], prefix: [5, 5, 5, 5, 5] },
    'packed documents': { seg: [0, 0, 1, 1, 1], prefix: [0, 0, 0, 0, 0] },
    'GLM Part A / Part B': { seg: [0, 0, 0, 0, 0], prefix: [3, 3, 3, 0, 0] },
    'with padding (fully masked row)': { seg: [0, 0, 0, -1, 2], prefix: [0, 0, 0, 0, 0] },
  };

  it.each(Object.keys(masks))('attention, mask %s, grouped-query, with bias', (name) => {
    const { seg, prefix } = masks[name];
    const [b, tq, h, hkv, d] = [2, 5, 4, 2, 3];
    const segs = f64.fromArray(new Int32Array([...seg, ...seg]), [b, tq]);
    const keySegs = name.startsWith('with padding') ? f64.fromArray(new Int32Array([...seg.slice(0, 4), 9, ...seg.slice(0, 4), 9]), [b, tq]) : segs;
    const mask: AttentionMask = {
      querySegments: segs,
      keySegments: keySegs,
      prefixEnd: f64.fromArray(new Int32Array([...prefix, ...prefix]), [b, tq]),
    };
    const err = gradCheck(
      [t([b, tq, h, d]), t([b, tq, hkv, d]), t([b, tq, hkv, d]), t([h, tq, tq])],
      ([q, k, v, bias]) => f64.attention(q, k, v, mask, { scale: 0.7, bias }).out,
      ([q, k, v, bias], dy) => {
        const { out, lse } = f64.attention(q, k, v, mask, { scale: 0.7, bias });
        const g = f64.attentionBackward(dy, q, k, v, out, lse, mask, { scale: 0.7, bias });
        return [g.dq, g.dk, g.dv, g.dbias];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });

  it('cross-attention (Tq != Tk, every key visible within the example)', () => {
    const [b, tq, tk, h, d] = [2, 3, 4, 2, 4];
    const mask: AttentionMask = {
      querySegments: f64.fromArray(new Int32Array([0, 0, 0, 1, 1, 1]), [b, tq]),
      keySegments: f64.fromArray(new Int32Array([0, 0, 0, -1, 1, 1, 1, 1]), [b, tk]),
      prefixEnd: f64.fromArray(new Int32Array(b * tq).fill(tk), [b, tq]),
    };
    const err = gradCheck(
      [t([b, tq, h, d]), t([b, tk, h, d]), t([b, tk, h, d])],
      ([q, k, v]) => f64.attention(q, k, v, mask, { scale: 0.5 }).out,
      ([q, k, v], dy) => {
        const { out, lse } = f64.attention(q, k, v, mask, { scale: 0.5 });
        const g = f64.attentionBackward(dy, q, k, v, out, lse, mask, { scale: 0.5 });
        return [g.dq, g.dk, g.dv];
      },
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });
});

describe('backward kernels added for the architecture options (float64)', () => {
  const rng = new Rng(8);
  const t = (n: number[], scale = 1) => f64.fromArray(randomArray(rng, n.reduce((a, b) => a * b, 1), scale), n);

  it('relu (inputs kept away from the kink at 0)', () => {
    const x = randomArray(rng, 2 * 13, 2).map((v) => (Math.abs(v) < 0.01 ? v + 0.05 : v));
    const err = gradCheck([f64.fromArray(x, [2, 13])], ([x]) => f64.relu(x), ([x], dy) => [f64.reluBackward(dy, x)], rng);
    expect(err).toBeLessThan(TOL);
  });

  it('dropout (the backward is the same mask on dy)', () => {
    const seed = f64.fromArray(new Int32Array([5, 9, 2, 7]), [2, 2]);
    const err = gradCheck([t([3, 17]), seed], ([x, s]) => f64.dropout(x, 0.3, s, 11), ([, s], dy) => [f64.dropout(dy, 0.3, s, 11)], rng);
    expect(err).toBeLessThan(TOL);
  });

  it('2D rotary (GLM-130B: head halves rotate by positions and block positions)', () => {
    const pos = f64.fromArray(new Int32Array([0, 1, 2, 2, 0, 5]), [2, 3]);
    const block = f64.fromArray(new Int32Array([0, 0, 1, 2, 0, 3]), [2, 3]);
    const err = gradCheck(
      [t([2, 3, 3, 8]), pos, block],
      ([x, p, bp]) => f64.rope(x, p, 10000, false, bp),
      ([, p, bp], dy) => [f64.rope(dy, p, 10000, true, bp)],
      rng,
    );
    expect(err).toBeLessThan(TOL);
  });
});
