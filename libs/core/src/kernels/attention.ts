import type { FloatArray } from './types.ts';

/**
 * Scaled dot-product attention over per-position mask descriptors.
 *   q, out: [B, Tq, H, D]; k, v: [B, Tk, Hkv, D] (query head h reads kv head floor(h / (H / Hkv)));
 *   querySegments, prefixEnd: [B, Tq]; keySegments: [B, Tk]; bias (optional): [H, Tq, Tk];
 *   lse: [B, H, Tq] = log Σ_j exp(s_ij) over visible keys, -Infinity for a query that sees nothing.
 * Query i sees key j iff querySegments[i] == keySegments[j] and (j <= i or j < prefixEnd[i]).
 * The reference computes one query row at a time (O(Tk) scratch), with the max-subtracted softmax.
 */
export interface AttentionShape {
  b: number;
  tq: number;
  tk: number;
  h: number;
  hkv: number;
  d: number;
  scale: number;
}

export interface AttentionMaskArrays {
  querySegments: Int32Array;
  keySegments: Int32Array;
  prefixEnd: Int32Array;
}

/** Keys j >= this bound are never visible to query i (the rule's second clause); the loops stop there. */
function keyBound(mask: AttentionMaskArrays, bi: number, i: number, s: AttentionShape): number {
  return Math.min(s.tk, Math.max(i + 1, mask.prefixEnd[bi * s.tq + i]));
}

export function attentionForward(
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  mask: AttentionMaskArrays,
  bias: FloatArray | null,
  out: FloatArray,
  lse: FloatArray,
  s: AttentionShape,
): void {
  const { b, tq, tk, h, hkv, d, scale } = s;
  const group = h / hkv;
  const scores = new Float64Array(tk);
  for (let bi = 0; bi < b; bi++) {
    for (let hh = 0; hh < h; hh++) {
      const kh = Math.floor(hh / group);
      for (let i = 0; i < tq; i++) {
        const qo = ((bi * tq + i) * h + hh) * d;
        const qSeg = mask.querySegments[bi * tq + i];
        const jEnd = keyBound(mask, bi, i, s);
        let max = -Infinity;
        for (let j = 0; j < jEnd; j++) {
          if (mask.keySegments[bi * tk + j] !== qSeg) {
            scores[j] = -Infinity;
            continue;
          }
          const ko = ((bi * tk + j) * hkv + kh) * d;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[qo + c] * k[ko + c];
          let score = dot * scale;
          if (bias) score += bias[(hh * tq + i) * tk + j];
          scores[j] = score;
          if (score > max) max = score;
        }
        out.fill(0, qo, qo + d);
        if (max === -Infinity) {
          lse[(bi * h + hh) * tq + i] = -Infinity;
          continue;
        }
        let sum = 0;
        for (let j = 0; j < jEnd; j++) {
          const p = scores[j] === -Infinity ? 0 : Math.exp(scores[j] - max);
          scores[j] = p;
          sum += p;
        }
        for (let j = 0; j < jEnd; j++) {
          const p = scores[j] / sum;
          if (p === 0) continue;
          const vo = ((bi * tk + j) * hkv + kh) * d;
          for (let c = 0; c < d; c++) out[qo + c] += p * v[vo + c];
        }
        lse[(bi * h + hh) * tq + i] = max + Math.log(sum);
      }
    }
  }
}

/**
 * Backward with the saved lse (FlashAttention-2's recomputation): p_ij = exp(s_ij - lse_i),
 *   dv_j += p_ij · dout_i;  dp_ij = dout_i · v_j;  ds_ij = p_ij (dp_ij - Σ_c dout_ic out_ic);
 *   dq_i += scale Σ_j ds_ij k_j;  dk_j += scale ds_ij q_i;  dbias_hij = Σ_b ds_ij.
 * dq, dk, dv (and dbias) are overwritten.
 */
export function attentionBackward(
  dout: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  out: FloatArray,
  lse: FloatArray,
  mask: AttentionMaskArrays,
  bias: FloatArray | null,
  dq: FloatArray,
  dk: FloatArray,
  dv: FloatArray,
  dbias: FloatArray | null,
  s: AttentionShape,
): void {
  const { b, tq, tk, h, hkv, d, scale } = s;
  const group = h / hkv;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  if (dbias) dbias.fill(0);
  for (let bi = 0; bi < b; bi++) {
    for (let hh = 0; hh < h; hh++) {
      const kh = Math.floor(hh / group);
      for (let i = 0; i < tq; i++) {
        const l = lse[(bi * h + hh) * tq + i];
        if (l === -Infinity) continue;
        const qo = ((bi * tq + i) * h + hh) * d;
        let rowDot = 0;
        for (let c = 0; c < d; c++) rowDot += dout[qo + c] * out[qo + c];
        const qSeg = mask.querySegments[bi * tq + i];
        const jEnd = keyBound(mask, bi, i, s);
        for (let j = 0; j < jEnd; j++) {
          if (mask.keySegments[bi * tk + j] !== qSeg) continue;
          const ko = ((bi * tk + j) * hkv + kh) * d;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[qo + c] * k[ko + c];
          let score = dot * scale;
          if (bias) score += bias[(hh * tq + i) * tk + j];
          const p = Math.exp(score - l);
          let dp = 0;
          for (let c = 0; c < d; c++) {
            dv[ko + c] += p * dout[qo + c];
            dp += dout[qo + c] * v[ko + c];
          }
          const ds = p * (dp - rowDot);
          if (dbias) dbias[(hh * tq + i) * tk + j] += ds;
          const dss = ds * scale;
          for (let c = 0; c < d; c++) {
            dq[qo + c] += dss * k[ko + c];
            dk[ko + c] += dss * q[qo + c];
          }
        }
      }
    }
  }
}
