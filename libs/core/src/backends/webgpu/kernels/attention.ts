import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';

/**
 * Fused (flash-style) attention over per-position mask descriptors; kernels/attention.ts is the reference.
 *   q, out, dout, dq: [B, Tq, H, D];  k, v: [B, Tk, Hkv, D] (query head h reads kv head h / (H / Hkv));
 *   mask: i32 [querySegments B·Tq | prefixEnd B·Tq | keySegments B·Tk] (packed by the host);
 *   bias, dbias: [H, Tq, Tk] (optional); lse: [B, H, Tq]; stats: vec2 [B, H, Tq] = (lse, Σ_c dout·out).
 * Query i sees key j iff querySegments[i] == keySegments[j] and (j <= i or j < prefixEnd[i]).
 *
 * Every kernel works on T×T tiles of the score matrix with T² invocations; invocation (r, c) = (lid / T, lid % T)
 * owns score (query r, key c) of the tile and, for the products with V, K or Q, output row r at channels
 * c, c + T, c + 2T, … (ceil(D / T) registers). Q/K/V/dO tiles live in workgroup memory with an odd row stride, so
 * the T invocations reading T different rows at the same channel hit T different banks.
 *
 * Work skipping from the rule's second clause: query i sees no key at or past keyBound(i) = max(i + 1, prefixEnd[i]).
 * A query tile therefore stops at the largest keyBound of its rows, and a key tile starts at the first query row
 * that reaches it (row j0 on the diagonal, or an earlier row whose prefix extends past j0): causal attention does
 * about half the work of bidirectional, and each bound costs two barriers once per workgroup, not per tile.
 *
 * forward (FlashAttention, Dao et al. 2022): per query tile, stream key tiles with the online softmax
 *   m' = max(m, max_j s_ij), l' = l·e^(m−m') + Σ_j e^(s_ij−m'), o' = o·e^(m−m') + Σ_j e^(s_ij−m') v_j;
 *   out = o / l, lse = m + log l; a query that sees no key gets out = 0, lse = −∞ (written as bits).
 * backward (FlashAttention-2's recomputation): p_ij = exp(s_ij − lse_i), dp_ij = dout_i·v_j,
 *   ds_ij = p_ij (dp_ij − Δ_i) with Δ_i = Σ_c dout_ic out_ic (attentionStats);
 *   dv_j = Σ_i p_ij dout_i and dk_j = scale Σ_i ds_ij q_i (attentionBackwardKV: one workgroup per key tile, looping
 *   over the query tiles of every head of its kv group, so grouped-query needs no atomics);
 *   dq_i = scale Σ_j ds_ij k_j (attentionBackwardQ: one workgroup per query tile);
 *   dbias_hij = Σ_b ds_bhij (attentionBackwardBias: one workgroup per (key tile, query tile, head), looping over b).
 * Each kernel binds at most 8 storage buffers (WebGPU's default maxStorageBuffersPerShaderStage), which is why
 * dk and dv come out of one buffer [dk | dv] that the host splits with two copies.
 */
export interface AttentionVariant {
  /** Tile edge; the workgroup has T² invocations. */
  t: number;
  /** Head size. */
  d: number;
}

const MASKED = '-3.0e38';

/** Row stride of the staged tiles: the head size, made odd. */
const stride = (d: number) => (d % 2 === 1 ? d : d + 1);

/** Workgroup memory (bytes) of the largest attention kernel at tile edge t and head size d. */
export function attentionWorkgroupBytes(t: number, d: number): number {
  return 4 * (4 * t * stride(d) + 2 * t * t + 4 * t + 2);
}

/** The largest tile edge whose kernels fit the device's workgroup memory and invocation limits. */
export function attentionVariant(d: number, maxWorkgroupBytes: number, maxInvocations: number): AttentionVariant {
  for (const t of [16, 8, 4, 2]) if (t * t <= maxInvocations && attentionWorkgroupBytes(t, d) <= maxWorkgroupBytes) return { t, d };
  throw new RangeError(
    `attention: head size ${d} does not fit this device's maxComputeWorkgroupStorageSize of ${maxWorkgroupBytes} bytes ` +
      `(needs ${attentionWorkgroupBytes(2, d)} at the smallest tile)`,
  );
}

const params: KernelSpec['params'] = [
  ['B', 'u32'],
  ['Tq', 'u32'],
  ['Tk', 'u32'],
  ['H', 'u32'],
  ['Hkv', 'u32'],
  ['group', 'u32'],
  ['scale', 'f32'],
  ['hasBias', 'u32'],
  ['tile', 'u32'],
];

/**
 * A loop over the T keys (or queries) of a tile, unrolled 4× by hand around a bound read from the uniforms (P.tile,
 * which is T). With a constant bound every compiler unrolls it completely, which is what a GPU wants but costs
 * lavapipe's JIT tens of seconds per kernel; 4× keeps the instruction-level parallelism at a fraction of the code.
 */
function tileLoop(v: AttentionVariant, index: string, body: string): string {
  const u = Math.min(4, v.t);
  const steps = Array.from({ length: u }, (_, k) => `{ let ${index} = base + ${k}u; ${body} }`);
  return `for (var base = 0u; base < P.tile; base = base + ${u}u) { ${steps.join(' ')} }`;
}

/**
 * Workgroup memory and helpers. `tiles` are [T × stride] staging tiles, `scoreTiles` [T × T]. The helpers:
 *   dot_A_B(ra, rb) = Σ_d A[ra, d]·B[rb, d] over two staged tiles (generated per pair: WGSL's portable subset has no
 *     pointer-to-workgroup parameters);
 *   score(r, c, h, i, j) = s_ij = scale·q_i·k_j (+ bias);
 *   visible(b, i, j, r) = the mask rule, reading the query's descriptors from qSeg/qPre (row r of the tile) and the
 *     key's segment from global memory (j < Tk checked).
 */
function declarations(v: AttentionVariant, tiles: string[], scoreTiles: string[]): string {
  const { t } = v;
  const sd = stride(v.d);
  const pairs = [
    ['Qs', 'Ks'],
    ['dOs', 'Vs'],
  ].filter(([a, b]) => tiles.includes(a) && tiles.includes(b));
  return [
    ...tiles.map((n) => `var<workgroup> ${n}: array<f32, ${t * sd}>;`),
    ...scoreTiles.map((n) => `var<workgroup> ${n}: array<f32, ${t * t}>;`),
    `var<workgroup> qSeg: array<i32, ${t}>;`,
    `var<workgroup> qPre: array<i32, ${t}>;`,
    `var<workgroup> rowL: array<f32, ${t}>;`,
    `var<workgroup> rowDelta: array<f32, ${t}>;`,
    'var<workgroup> boundAtomic: atomic<u32>;',
    'var<workgroup> boundValue: u32;',
    ...pairs.map(
      ([a, b]) => `
fn dot_${a}_${b}(ra: u32, rb: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < ${v.d}u; d++) { s = fma(${a}[ra * ${sd}u + d], ${b}[rb * ${sd}u + d], s); }
  return s;
}`,
    ),
    `
fn score(r: u32, c: u32, h: u32, i: u32, j: u32) -> f32 {
  var s = dot_Qs_Ks(r, c) * P.scale;
  if (P.hasBias == 1u) { s = s + bias[(h * P.Tq + i) * P.Tk + j]; }
  return s;
}

fn visible(b: u32, i: u32, j: u32, r: u32) -> bool {
  return i < P.Tq && j < P.Tk && qSeg[r] == mask[2u * P.B * P.Tq + b * P.Tk + j] && (j <= i || i32(j) < qPre[r]);
}`,
  ].join('\n');
}

/** Stage rows [row0, row0 + T) of one head of a [batch, len, heads, D] tensor into a tile (zeros past `len`). */
function stage(v: AttentionVariant, tile: string, src: string, batch: string, row0: string, len: string, heads: string, head: string): string {
  const { t, d } = v;
  return `  for (var e = lid; e < ${t * d}u; e = e + ${t * t}u) {
    let rr = e / ${d}u;
    let cc = e % ${d}u;
    let row = ${row0} + rr;
    var x = 0.0;
    if (row < ${len}) { x = ${src}[((${batch} * ${len} + row) * ${heads} + ${head}) * ${d}u + cc]; }
    ${tile}[rr * ${stride(d)}u + cc] = x;
  }`;
}

/** Load the descriptors (and saved statistics) of the rows of query tile i0 of batch b, head h. */
function loadQueryRows(v: AttentionVariant, withStats: boolean): string {
  return `  if (lid < ${v.t}u) {
    let ii = i0 + lid;
    if (ii < P.Tq) {
      qSeg[lid] = mask[b * P.Tq + ii];
      qPre[lid] = mask[P.B * P.Tq + b * P.Tq + ii];${
        withStats
          ? `
      let st = stats[(b * P.H + h) * P.Tq + ii];
      rowL[lid] = st.x;
      rowDelta[lid] = st.y;`
          : ''
      }
    }
  }`;
}

/** kEnd: the largest keyBound over the rows of query tile i0 of batch b (uniform; workgroup memory starts zeroed). */
function keyEnd(v: AttentionVariant): string {
  return `  if (lid < ${v.t}u && i0 + lid < P.Tq) {
    let ii = i0 + lid;
    let pe = mask[P.B * P.Tq + b * P.Tq + ii];
    atomicMax(&boundAtomic, min(P.Tk, max(ii + 1u, u32(max(pe, 0)))));
  }
  workgroupBarrier();
  if (lid == 0u) { boundValue = atomicLoad(&boundAtomic); }
  let kEnd = workgroupUniformLoad(&boundValue);`;
}

/** qStart: the first query row of batch b that may see a key of tile j0 (uniform). */
function queryStart(v: AttentionVariant): string {
  return `  if (lid == 0u) { atomicStore(&boundAtomic, min(j0, P.Tq)); }
  workgroupBarrier();
  for (var ii = lid; ii < min(j0, P.Tq); ii = ii + ${v.t * v.t}u) {
    if (mask[P.B * P.Tq + b * P.Tq + ii] > i32(j0)) { atomicMin(&boundAtomic, ii); }
  }
  workgroupBarrier();
  if (lid == 0u) { boundValue = atomicLoad(&boundAtomic); }
  let qStart = workgroupUniformLoad(&boundValue);`;
}

/** ds_ij of this invocation's pair (0 when not visible); needs Qs, Ks, dOs, Vs, rowL, rowDelta staged. */
const gradScore = `  var p = 0.0;
  var ds = 0.0;
  if (vis) {
    p = exp(score(r, c, h, i, j) - rowL[r]);
    ds = p * (dot_dOs_Vs(r, c) - rowDelta[r]);
  }`;

const unroll = (v: AttentionVariant, body: (k: number) => string) =>
  Array.from({ length: Math.ceil(v.d / v.t) }, (_, k) => body(k)).join('\n');

const commonHeader = (v: AttentionVariant) => `  let r = lid / ${v.t}u;
  let c = lid % ${v.t}u;`;

/** Grid: (ceil(Tq / T), H, B). */
export function attentionForward(v: AttentionVariant): KernelSpec {
  const { t, d } = v;
  const sd = stride(d);
  return {
    key: `attention_forward_${t}_${d}`,
    params,
    bindings: [read('q'), read('k'), read('v'), read('mask', 'i32'), read('bias'), write('out'), write('lse', 'u32')],
    workgroupSize: [t * t],
    helpers: declarations(v, ['Qs', 'Ks', 'Vs'], ['Ss', 'Ps']),
    main: `${commonHeader(v)}
  let b = wid.z;
  let h = wid.y;
  let kh = h / P.group;
  let i0 = wid.x * ${t}u;
  let i = i0 + r;
${stage(v, 'Qs', 'q', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
${loadQueryRows(v, false)}
${keyEnd(v)}
  var m = ${MASKED};
  var l = 0.0;
${unroll(v, (k) => `  var o${k} = 0.0;`)}
  for (var j0 = 0u; j0 < kEnd; j0 = j0 + ${t}u) {
    let j = j0 + c;
${stage(v, 'Ks', 'k', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
${stage(v, 'Vs', 'v', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
    workgroupBarrier();
    let vis = visible(b, i, j, r);
    var s = ${MASKED};
    if (vis) { s = score(r, c, h, i, j); }
    Ss[lid] = s;
    workgroupBarrier();
    var mt = ${MASKED};
    ${tileLoop(v, 'cc', `mt = max(mt, Ss[r * ${t}u + cc]);`)}
    let mNew = max(m, mt);
    Ps[lid] = select(0.0, exp(s - mNew), vis);
    workgroupBarrier();
    var rowSum = 0.0;
    ${tileLoop(v, 'cc', `rowSum = rowSum + Ps[r * ${t}u + cc];`)}
    let alpha = exp(m - mNew);
    l = l * alpha + rowSum;
    m = mNew;
${unroll(
  v,
  (k) => `    if (c + ${k * t}u < ${d}u) {
      var acc = o${k} * alpha;
      ${tileLoop(v, 'cc', `acc = fma(Ps[r * ${t}u + cc], Vs[cc * ${sd}u + c + ${k * t}u], acc);`)}
      o${k} = acc;
    }`,
)}
    workgroupBarrier();
  }
  if (i < P.Tq) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    let o = ((b * P.Tq + i) * P.H + h) * ${d}u;
${unroll(v, (k) => `    if (c + ${k * t}u < ${d}u) { out[o + c + ${k * t}u] = o${k} * inv; }`)}
    if (c == 0u) { lse[(b * P.H + h) * P.Tq + i] = select(0xff800000u, bitcast<u32>(m + log(l)), l > 0.0); }
  }`,
  };
}

/**
 * stats[b, h, i] = (lse, Δ = Σ_c dout·out), one invocation per (b, h, i). A query that saw nothing (lse = −∞)
 * gets lse = 3e38 instead, so that p = exp(s − lse) is exactly 0 for it without a special case downstream.
 */
export function attentionStats(d: number): KernelSpec {
  return {
    key: `attention_stats_${d}`,
    params: [
      ['rows', 'u32'],
      ['Tq', 'u32'],
      ['H', 'u32'],
    ],
    bindings: [read('out'), read('dout'), read('lse'), write('stats', 'vec2f')],
    workgroupSize: [FLAT],
    main: `  let e = ${flatIndex};
  if (e >= P.rows) { return; }
  let i = e % P.Tq;
  let bh = e / P.Tq;
  let o = (((bh / P.H) * P.Tq + i) * P.H + bh % P.H) * ${d}u;
  var delta = 0.0;
  for (var c = 0u; c < ${d}u; c++) { delta = fma(dout[o + c], out[o + c], delta); }
  let l = lse[e];
  stats[e] = vec2<f32>(select(l, 3.0e38, l < -1.0e38), delta);`,
  };
}

const backwardBindings = [read('q'), read('k'), read('v'), read('dout'), read('stats', 'vec2f'), read('mask', 'i32'), read('bias')];

/** Grid: (ceil(Tk / T), Hkv, B). dkv: [dk | dv], each [B, Tk, Hkv, D]; kvSize = B·Tk·Hkv·D. */
export function attentionBackwardKV(v: AttentionVariant): KernelSpec {
  const { t, d } = v;
  const sd = stride(d);
  return {
    key: `attention_backward_kv_${t}_${d}`,
    params: [...params, ['kvSize', 'u32']],
    bindings: [...backwardBindings, write('dkv')],
    workgroupSize: [t * t],
    helpers: declarations(v, ['Qs', 'Ks', 'Vs', 'dOs'], ['Ps', 'dSs']),
    main: `${commonHeader(v)}
  let b = wid.z;
  let kh = wid.y;
  let j0 = wid.x * ${t}u;
  let j = j0 + c;
${stage(v, 'Ks', 'k', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
${stage(v, 'Vs', 'v', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
${queryStart(v)}
${unroll(v, (k) => `  var dk${k} = 0.0;\n  var dv${k} = 0.0;`)}
  for (var g = 0u; g < P.group; g++) {
    let h = kh * P.group + g;
    for (var i0 = (qStart / ${t}u) * ${t}u; i0 < P.Tq; i0 = i0 + ${t}u) {
      let i = i0 + r;
${loadQueryRows(v, true)}
${stage(v, 'Qs', 'q', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
${stage(v, 'dOs', 'dout', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
      workgroupBarrier();
      let vis = visible(b, i, j, r);
${gradScore}
      Ps[lid] = p;
      dSs[lid] = ds;
      workgroupBarrier();
${unroll(
  v,
  (k) => `      if (c + ${k * t}u < ${d}u) {
        ${tileLoop(
          v,
          'qq',
          `dv${k} = fma(Ps[qq * ${t}u + r], dOs[qq * ${sd}u + c + ${k * t}u], dv${k}); ` +
            `dk${k} = fma(dSs[qq * ${t}u + r], Qs[qq * ${sd}u + c + ${k * t}u], dk${k});`,
        )}
      }`,
)}
      workgroupBarrier();
    }
  }
  let jr = j0 + r;
  if (jr < P.Tk) {
    let o = ((b * P.Tk + jr) * P.Hkv + kh) * ${d}u;
${unroll(
  v,
  (k) => `    if (c + ${k * t}u < ${d}u) {
      dkv[o + c + ${k * t}u] = dk${k} * P.scale;
      dkv[P.kvSize + o + c + ${k * t}u] = dv${k};
    }`,
)}
  }`,
  };
}

/** Grid: (ceil(Tq / T), H, B). */
export function attentionBackwardQ(v: AttentionVariant): KernelSpec {
  const { t, d } = v;
  const sd = stride(d);
  return {
    key: `attention_backward_q_${t}_${d}`,
    params,
    bindings: [...backwardBindings, write('dq')],
    workgroupSize: [t * t],
    helpers: declarations(v, ['Qs', 'Ks', 'Vs', 'dOs'], ['dSs']),
    main: `${commonHeader(v)}
  let b = wid.z;
  let h = wid.y;
  let kh = h / P.group;
  let i0 = wid.x * ${t}u;
  let i = i0 + r;
${stage(v, 'Qs', 'q', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
${stage(v, 'dOs', 'dout', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
${loadQueryRows(v, true)}
${keyEnd(v)}
${unroll(v, (k) => `  var dq${k} = 0.0;`)}
  for (var j0 = 0u; j0 < kEnd; j0 = j0 + ${t}u) {
    let j = j0 + c;
${stage(v, 'Ks', 'k', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
${stage(v, 'Vs', 'v', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
    workgroupBarrier();
    let vis = visible(b, i, j, r);
${gradScore}
    dSs[lid] = ds;
    workgroupBarrier();
${unroll(
  v,
  (k) => `    if (c + ${k * t}u < ${d}u) {
      ${tileLoop(v, 'kk', `dq${k} = fma(dSs[r * ${t}u + kk], Ks[kk * ${sd}u + c + ${k * t}u], dq${k});`)}
    }`,
)}
    workgroupBarrier();
  }
  if (i < P.Tq) {
    let o = ((b * P.Tq + i) * P.H + h) * ${d}u;
${unroll(v, (k) => `    if (c + ${k * t}u < ${d}u) { dq[o + c + ${k * t}u] = dq${k} * P.scale; }`)}
  }`,
  };
}

/** Grid: (ceil(Tk / T), ceil(Tq / T), H). Bias is rare (ALiBi, T5 buckets): no work skipping here. */
export function attentionBackwardBias(v: AttentionVariant): KernelSpec {
  const { t } = v;
  return {
    key: `attention_backward_bias_${t}_${v.d}`,
    params,
    bindings: [...backwardBindings, write('dbias')],
    workgroupSize: [t * t],
    helpers: declarations(v, ['Qs', 'Ks', 'Vs', 'dOs'], []),
    main: `${commonHeader(v)}
  let h = wid.z;
  let kh = h / P.group;
  let i0 = wid.y * ${t}u;
  let j0 = wid.x * ${t}u;
  let i = i0 + r;
  let j = j0 + c;
  var acc = 0.0;
  for (var b = 0u; b < P.B; b++) {
${loadQueryRows(v, true)}
${stage(v, 'Qs', 'q', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
${stage(v, 'dOs', 'dout', 'b', 'i0', 'P.Tq', 'P.H', 'h')}
${stage(v, 'Ks', 'k', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
${stage(v, 'Vs', 'v', 'b', 'j0', 'P.Tk', 'P.Hkv', 'kh')}
    workgroupBarrier();
    let vis = visible(b, i, j, r);
${gradScore}
    acc = acc + ds;
    workgroupBarrier();
  }
  if (i < P.Tq && j < P.Tk) { dbias[(h * P.Tq + i) * P.Tk + j] = acc; }`,
  };
}
