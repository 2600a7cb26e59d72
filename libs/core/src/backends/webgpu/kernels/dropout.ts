import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';

/**
 * Inverted dropout with the stateless mask of kernels/dropout.ts, bit for bit: x, y: [N];
 *   keep e  iff  fmix32(key ^ fmix32(e)) >= threshold;  y_e = keep ? x_e · scale : 0.
 * The host derives key = dropoutKey(seed, salt) from the seed tensor's host copy, threshold = ceil(rate · 2^32)
 * (the hash is an integer, so ≥ rate·2^32 and ≥ its ceiling agree), and scale = 1 / (1 − rate).
 * `keepNone` covers a threshold of 2^32, which no u32 reaches. The backward is this kernel applied to dy.
 */
export const dropout: KernelSpec = {
  key: 'dropout',
  params: [
    ['n', 'u32'],
    ['key', 'u32'],
    ['threshold', 'u32'],
    ['keepNone', 'u32'],
    ['scale', 'f32'],
  ],
  bindings: [read('x'), write('y')],
  workgroupSize: [FLAT],
  helpers: `
fn fmix32(x: u32) -> u32 {
  var h = x;
  h = h ^ (h >> 16u);
  h = h * 0x85ebca6bu;
  h = h ^ (h >> 13u);
  h = h * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  return h;
}`,
  main: `  let i = ${flatIndex};
  if (i >= P.n) { return; }
  let keep = P.keepNone == 0u && fmix32(P.key ^ fmix32(i)) >= P.threshold;
  y[i] = select(0.0, x[i] * P.scale, keep);`,
};
