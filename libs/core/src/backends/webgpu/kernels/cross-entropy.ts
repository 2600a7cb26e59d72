import { flatWorkgroup, read, write, type KernelSpec } from '../kernel.ts';
import { reduceCall, workgroupReduce } from './reduce.ts';

/**
 * Fused softmax cross-entropy with a loss mask, loss and d loss / d logits in one pass over the logits;
 * kernels/cross-entropy.ts is the reference.
 *   logits, dlogits: [N, V]; targets: i32 [N]; lossMask: [N]; count: [1]; rowLoss: [N]; loss: [1].
 *   count = Σ_r mask_r                                                  (crossEntropyCount, one workgroup)
 *   rowLoss_r = mask_r · (logsumexp(logits_r) − logits_r[target_r])
 *   dlogits_r = mask_r / count · (softmax(logits_r) − onehot(target_r))  (crossEntropyRows, one workgroup per row)
 *   loss = Σ_r rowLoss_r / count, 0 when count = 0                       (crossEntropyLoss, one workgroup)
 * A weighted row whose target is outside [0, V) gets a NaN row loss (the host refuses such targets first whenever
 * it knows the values, with the reference's message); rowLoss is written as bits so NaN needs no constant.
 */
const WG = 256;

export function crossEntropyCount(subgroups: boolean): KernelSpec {
  return {
    key: `cross_entropy_count${subgroups ? '_sg' : ''}`,
    params: [['n', 'u32']],
    bindings: [read('lossMask'), write('count')],
    workgroupSize: [WG],
    subgroups,
    helpers: workgroupReduce(WG, subgroups),
    main: `  var s = 0.0;
  for (var r = lid; r < P.n; r = r + ${WG}u) { s = s + lossMask[r]; }
  let total = ${reduceCall('add', 's', subgroups)};
  if (lid == 0u) { count[0] = total; }`,
  };
}

export function crossEntropyRows(subgroups: boolean): KernelSpec {
  return {
    key: `cross_entropy_rows${subgroups ? '_sg' : ''}`,
    params: [
      ['n', 'u32'],
      ['v', 'u32'],
    ],
    bindings: [read('logits'), read('targets', 'i32'), read('lossMask'), read('count'), write('dlogits'), write('rowLoss', 'u32')],
    workgroupSize: [WG],
    subgroups,
    helpers: workgroupReduce(WG, subgroups),
    main: `  let r = ${flatWorkgroup};
  if (r >= P.n) { return; }
  let o = r * P.v;
  var mx = -3.0e38;
  for (var j = lid; j < P.v; j = j + ${WG}u) { mx = max(mx, logits[o + j]); }
  mx = ${reduceCall('max', 'mx', subgroups)};
  var sum = 0.0;
  for (var j = lid; j < P.v; j = j + ${WG}u) { sum = sum + exp(logits[o + j] - mx); }
  let logSum = log(${reduceCall('add', 'sum', subgroups)}) + mx;
  let weight = lossMask[r];
  let total = count[0];
  let g = select(0.0, weight / total, total > 0.0);
  let t = targets[r];
  let valid = t >= 0 && u32(t) < P.v;
  for (var j = lid; j < P.v; j = j + ${WG}u) {
    var d = g * exp(logits[o + j] - logSum);
    if (valid && j == u32(t)) { d = d - g; }
    dlogits[o + j] = d;
  }
  if (lid == 0u) {
    if (weight == 0.0) {
      rowLoss[r] = 0u;
    } else if (valid) {
      rowLoss[r] = bitcast<u32>(weight * (logSum - logits[o + u32(t)]));
    } else {
      rowLoss[r] = 0x7fc00000u;
    }
  }`,
  };
}

export function crossEntropyLoss(subgroups: boolean): KernelSpec {
  return {
    key: `cross_entropy_loss${subgroups ? '_sg' : ''}`,
    params: [['n', 'u32']],
    bindings: [read('rowLoss'), read('count'), write('loss')],
    workgroupSize: [WG],
    subgroups,
    helpers: workgroupReduce(WG, subgroups),
    main: `  var s = 0.0;
  for (var r = lid; r < P.n; r = r + ${WG}u) { s = s + rowLoss[r]; }
  let total = ${reduceCall('add', 's', subgroups)};
  if (lid == 0u) { loss[0] = select(0.0, total / count[0], count[0] > 0.0); }`,
  };
}
