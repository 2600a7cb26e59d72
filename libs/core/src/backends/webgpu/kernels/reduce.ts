/**
 * Workgroup reductions shared by the row kernels (norms, cross-entropy, sums of squares).
 *
 * `workgroupReduce(wg, subgroups)` emits `reduce_add(v)` and `reduce_max(v)`: every invocation of a 1-D workgroup of
 * `wg` (a power of two) calls them with its value, in uniform control flow, and every invocation gets the result.
 *   - with the `subgroups` feature: subgroupAdd/subgroupMax inside each subgroup, one value per subgroup through
 *     workgroup memory (subgroup s is invocations [s·size, (s+1)·size), as every implementation lays out 1-D groups);
 *   - without: a shared-memory tree, log2(wg) barriers.
 * Both end with a barrier so the scratch array can be reused by the next call.
 */
export function workgroupReduce(wg: number, subgroups: boolean): string {
  if (wg & (wg - 1)) throw new Error(`workgroupReduce: ${wg} is not a power of two`);
  if (subgroups) {
    const op = (name: string, sg: string, combine: (a: string, b: string) => string, init: string) => `
fn ${name}(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  let s = ${sg}(v);
  if (sg_lane == 0u) { red_scratch[lid / sg_size] = s; }
  workgroupBarrier();
  var r = ${init};
  let groups = (${wg}u + sg_size - 1u) / sg_size;
  for (var i = 0u; i < groups; i++) { r = ${combine('r', 'red_scratch[i]')}; }
  workgroupBarrier();
  return r;
}`;
    return `
var<workgroup> red_scratch: array<f32, ${wg}>;
${op('reduce_add_sg', 'subgroupAdd', (a, b) => `${a} + ${b}`, '0.0')}
${op('reduce_max_sg', 'subgroupMax', (a, b) => `max(${a}, ${b})`, '-3.0e38')}`;
  }
  const op = (name: string, combine: (a: string, b: string) => string) => `
fn ${name}(v: f32, lid: u32) -> f32 {
  red_scratch[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_scratch[lid] = ${combine('red_scratch[lid]', 'red_scratch[lid + s]')}; }
    workgroupBarrier();
  }
  let r = red_scratch[0];
  workgroupBarrier();
  return r;
}`;
  return `
var<workgroup> red_scratch: array<f32, ${wg}>;
${op('reduce_add_tree', (a, b) => `${a} + ${b}`)}
${op('reduce_max_tree', (a, b) => `max(${a}, ${b})`)}`;
}

/** The call of a reduction emitted by `workgroupReduce`, e.g. reduceCall('add', 'ss', true). */
export function reduceCall(op: 'add' | 'max', value: string, subgroups: boolean): string {
  return subgroups ? `reduce_${op}_sg(${value}, lid, sg_lane, sg_size)` : `reduce_${op}_tree(${value}, lid)`;
}
