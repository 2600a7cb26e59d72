import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';

/**
 * Rotary position embedding (Su et al. 2021), interleaved pairs; kernels/rope.ts is the reference.
 *   x, y: [B, T, H, D]; positions (and blockPositions for GLM's 2D RoPE): i32 [B, T].
 * Pair (2i, 2i+1) of a rotated span of `width` channels turns by angle pos · base^(−2i/width): width = D, or with
 * 2D RoPE (Zeng et al. 2022) two spans of D/2, the first turned by positions, the second by blockPositions.
 * cos/sin come from a table [positions, width/2] the host computes in float64 (the reference's precision; f32 sin
 * of an angle near 1000 rad would be off by ~1e-4), indexed by pos − minPos. `sign` = −1 is the inverse rotation,
 * which is exactly the backward (the rotation is orthogonal). With odd D the last channel passes through.
 * One invocation per (b·t, h, pair) of the full head (pairs D/2, plus one for an odd channel).
 */
export const ropeKernel: KernelSpec = {
  key: 'rope',
  params: [
    ['bt', 'u32'],
    ['h', 'u32'],
    ['d', 'u32'],
    ['width', 'u32'],
    ['minPos', 'i32'],
    ['sign', 'f32'],
    ['twoD', 'u32'],
  ],
  bindings: [read('x'), read('positions', 'i32'), read('blockPositions', 'i32'), read('table', 'vec2f'), write('y')],
  workgroupSize: [FLAT],
  main: `  let slots = (P.d + 1u) / 2u;
  let e = ${flatIndex};
  if (e >= P.bt * P.h * slots) { return; }
  let p = e % slots;
  let row = e / slots;
  let bt = row / P.h;
  let o = row * P.d + 2u * p;
  if (2u * p + 1u >= P.d) { y[o] = x[o]; return; }
  let half = P.width / 2u;
  let span = (2u * p) / P.width;
  let i = p - span * half;
  var pos = positions[bt];
  if (span == 1u && P.twoD == 1u) { pos = blockPositions[bt]; }
  let cs = table[u32(pos - P.minPos) * half + i];
  let sn = P.sign * cs.y;
  let x0 = x[o];
  let x1 = x[o + 1u];
  y[o] = x0 * cs.x - x1 * sn;
  y[o + 1u] = x0 * sn + x1 * cs.x;`,
};
