import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';

/**
 * Token embedding; kernels/embedding.ts is the reference.
 *   ids: i32 [N]; table, dtable: [V, D]; y, dy: [N, D].
 * forward: y[i, c] = table[ids[i], c] (ids are checked against V on the host before the dispatch).
 * backward: dtable[v, c] = Σ_{i: ids[i] = v} dy[i, c]. Many positions share a token and WGSL has no float atomics,
 * so the host groups positions by token (it holds every id tensor's values, see webgpu-backend.ts) into
 * csr = [offsets: V + 1 | positions: N], and each invocation sums one (v, c) in position order: deterministic,
 * O(N·D + V·D), and zero rows come out zero without a separate clear.
 */
export const embeddingForward: KernelSpec = {
  key: 'embedding_forward',
  params: [
    ['n', 'u32'],
    ['d', 'u32'],
    ['v', 'u32'],
  ],
  bindings: [read('ids', 'i32'), read('table'), write('y')],
  workgroupSize: [FLAT],
  main: `  let e = ${flatIndex};
  if (e >= P.n * P.d) { return; }
  let id = ids[e / P.d];
  var value = 0.0;
  if (id >= 0 && u32(id) < P.v) { value = table[u32(id) * P.d + e % P.d]; }
  y[e] = value;`,
};

export const embeddingBackward: KernelSpec = {
  key: 'embedding_backward',
  params: [
    ['d', 'u32'],
    ['v', 'u32'],
  ],
  bindings: [read('csr', 'i32'), read('dy'), write('dtable')],
  workgroupSize: [FLAT],
  main: `  let e = ${flatIndex};
  if (e >= P.v * P.d) { return; }
  let row = e / P.d;
  let c = e % P.d;
  let first = u32(csr[row]);
  let last = u32(csr[row + 1u]);
  var s = 0.0;
  for (var k = first; k < last; k = k + 1u) { s = s + dy[u32(csr[P.v + 1u + k]) * P.d + c]; }
  dtable[e] = s;`,
};
