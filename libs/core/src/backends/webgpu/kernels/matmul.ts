import { read, write, type KernelSpec } from '../kernel.ts';

/**
 * C[M, N] = op(A) · op(B), row-major f32 (kernels/matmul.ts is the reference).
 *   op(A) is [M, K]: A stored [M, K], or [K, M] when transA.    op(B) is [K, N]: B stored [K, N], or [N, K] when transB.
 * A linear layer y = x·W is (NN); its backward products are dx = dy·Wᵀ (NT) and dW = xᵀ·dy (TN), so this one
 * kernel with its two transpose flags is both the forward and the backward.
 *
 * Tiling: a 16×16 workgroup computes a BM×BN block of C (BM = 16·TM, BN = 16·TN). Per step of BK along K, the
 * workgroup stages op(A)[BM, BK] and op(B)[BK, BN] in workgroup memory (k-major, so the inner loop reads rows),
 * then each invocation accumulates a TM×TN register block: rows ty + 16·i, columns tx + 16·j (strided, so the
 * 16 invocations of a row read 16 consecutive words of the B tile: no bank conflicts). The code is generated
 * fully unrolled so the accumulators stay in registers. Out-of-range rows/columns load as 0 (any odd shape).
 *
 * With `f16` (only when the adapter has shader-f16, and only when asked for) the tiles are staged as f16 — half
 * the workgroup memory and bandwidth — while products and sums stay f32 (like bf16 autocast: rounded inputs,
 * f32 accumulation).
 */
export interface MatmulVariant {
  transA: boolean;
  transB: boolean;
  /** Register block per invocation: TM rows × TN columns. */
  tm: number;
  tn: number;
  f16: boolean;
}

/** 8×8 register blocks for large products, 4×4 (64×64 tiles) when a 128×128 tile would leave most of the GPU idle. */
export function matmulVariant(m: number, n: number, transA: boolean, transB: boolean, f16: boolean): MatmulVariant {
  const big = m >= 512 && n >= 512;
  return { transA, transB, tm: big ? 8 : 4, tn: big ? 8 : 4, f16 };
}

export function matmulTile(v: MatmulVariant): { bm: number; bn: number; bk: number } {
  return { bm: 16 * v.tm, bn: 16 * v.tn, bk: v.tm >= 8 ? 8 : 16 };
}

export function matmulKernel(v: MatmulVariant): KernelSpec {
  const { tm, tn, transA, transB } = v;
  const { bm, bn, bk } = matmulTile(v);
  const st = v.f16 ? 'f16' : 'f32';
  const loadsA = (bm * bk) / 256;
  const loadsB = (bk * bn) / 256;
  const lines: string[] = [];
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) lines.push(`  var c${i}_${j} = 0.0;`);
  lines.push(
    '  let tx = lid % 16u;',
    '  let ty = lid / 16u;',
    `  let m0 = wid.y * ${bm}u;`,
    `  let n0 = wid.x * ${bn}u;`,
    `  for (var k0 = 0u; k0 < P.K; k0 = k0 + ${bk}u) {`,
  );
  // Stage op(A)[m0.., k0..] as As[kk * bm + mm]; consecutive invocations walk A's contiguous dimension.
  for (let l = 0; l < loadsA; l++) {
    const e = `(lid + ${l * 256}u)`;
    const [mm, kk] = transA ? [`${e} % ${bm}u`, `${e} / ${bm}u`] : [`${e} / ${bk}u`, `${e} % ${bk}u`];
    const addr = transA ? '(k0 + kk) * P.M + m0 + mm' : '(m0 + mm) * P.K + k0 + kk';
    lines.push(
      `    { let mm = ${mm}; let kk = ${kk};`,
      `      var x = 0.0; if (m0 + mm < P.M && k0 + kk < P.K) { x = a[${addr}]; }`,
      `      As[kk * ${bm}u + mm] = ${st}(x); }`,
    );
  }
  for (let l = 0; l < loadsB; l++) {
    const e = `(lid + ${l * 256}u)`;
    const [nn, kk] = transB ? [`${e} / ${bk}u`, `${e} % ${bk}u`] : [`${e} % ${bn}u`, `${e} / ${bn}u`];
    const addr = transB ? '(n0 + nn) * P.K + k0 + kk' : '(k0 + kk) * P.N + n0 + nn';
    lines.push(
      `    { let nn = ${nn}; let kk = ${kk};`,
      `      var x = 0.0; if (n0 + nn < P.N && k0 + kk < P.K) { x = b[${addr}]; }`,
      `      Bs[kk * ${bn}u + nn] = ${st}(x); }`,
    );
  }
  // The kk loop's bound comes from the uniforms (P.bk = BK): a constant bound gets it unrolled on top of the TM×TN
  // block, which multiplies lavapipe's JIT time for nothing — each iteration already holds TM·TN independent FMAs.
  lines.push('    workgroupBarrier();', '    for (var kk = 0u; kk < P.bk; kk = kk + 1u) {');
  for (let i = 0; i < tm; i++) lines.push(`      let a${i} = f32(As[kk * ${bm}u + ty + ${16 * i}u]);`);
  for (let j = 0; j < tn; j++) lines.push(`      let b${j} = f32(Bs[kk * ${bn}u + tx + ${16 * j}u]);`);
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) lines.push(`      c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`);
  lines.push('    }', '    workgroupBarrier();', '  }');
  for (let i = 0; i < tm; i++) {
    lines.push(`  { let row = m0 + ty + ${16 * i}u;`, '    if (row < P.M) {');
    for (let j = 0; j < tn; j++)
      lines.push(`      { let col = n0 + tx + ${16 * j}u; if (col < P.N) { c[row * P.N + col] = c${i}_${j}; } }`);
    lines.push('    }', '  }');
  }
  return {
    key: `matmul_${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}_${tm}x${tn}${v.f16 ? '_f16' : ''}`,
    params: [
      ['M', 'u32'],
      ['K', 'u32'],
      ['N', 'u32'],
      ['bk', 'u32'],
    ],
    bindings: [read('a'), read('b'), write('c')],
    workgroupSize: [256],
    f16: v.f16,
    helpers: `
var<workgroup> As: array<${st}, ${bm * bk}>;
var<workgroup> Bs: array<${st}, ${bk * bn}>;`,
    main: lines.join('\n'),
  };
}
