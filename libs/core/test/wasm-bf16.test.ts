import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createReferenceBackend, type Backend, type Tensor } from '../src/index.ts';
import { createWasmBackend, loadWasmKernels, parseMatmulPrecision, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import { bf16Round, roundToBf16 } from '../src/kernels/bf16.ts';
import { relativeError, values } from './wasm-compare.ts';

// The mixed-precision matmuls (precision "bf16-matmul", kernels-rs/src/matmul.rs and fused.rs): the kernels round
// both operands to bf16 and sum in f32. Checked (1) bit for bit against the TypeScript rounding (libs/core/src/kernels/
// bf16.ts) on the values where rounding is subtle; (2) against the reference backend on operands rounded to bf16
// first, which differs only in the order of the f32 sums, so it must agree about as tightly as the f32 kernels do;
// (3) against the plain f32 reference within a bf16 tolerance, and measurably off it (the mode really rounds);
// (4) the fused matmuls equal the unfused ones bit for bit, and thread counts give the same bits, in both builds.

const backends: WasmBackend[] = [];
afterAll(() => backends.forEach((b) => b.close()));
afterEach(() => vi.unstubAllEnvs());

async function backend(variant: 'simd128' | 'relaxed', threads: number, precision: 'f32' | 'bf16-matmul' = 'bf16-matmul'): Promise<WasmBackend> {
  const be = await createWasmBackend(await loadWasmKernels(variant), { threads, precision });
  backends.push(be);
  return be;
}

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const bitsOf = (x: Float32Array) => Array.from(new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)));

/** Values where rounding to bf16 is subtle: ties either way, carries into the exponent, overflow, NaN, subnormals. */
const SPECIAL = [
  1, -1, 0, -0, Infinity, -Infinity, NaN,
  f32(0x3f80_8000), // 1 + 2^-8: a tie, the kept half is even -> 1
  f32(0x3f81_8000), // a tie with an odd kept half -> up
  f32(0x3f80_8001), // just above the tie -> up
  f32(0x3f80_7fff), // just below -> down
  f32(0x3fff_ffff), // rounds up into the next exponent (2)
  f32(0x7f7f_ffff), // the largest finite f32 -> +inf
  f32(0xff7f_ffff), // and its negative -> -inf
  f32(0x7f7f_7fff), // stays finite (the largest bf16)
  f32(0x0000_0001), // the smallest subnormal -> +0
  f32(0x0000_8000), // a subnormal tie -> 0 (even)
  f32(0x0001_8000), // a subnormal tie -> up
  f32(0x7f80_0001), // a NaN whose payload is all in the dropped half: must stay NaN
  f32(0xffc1_2345), // a negative quiet NaN
  Math.PI, -Math.E, 1e-30, 3.3e38,
];

describe('bf16Round (the TypeScript reference)', () => {
  it('rounds to nearest, ties to even, overflows to inf and keeps NaN a NaN', () => {
    expect(bf16Round(f32(0x3f80_8000))).toBe(1);
    expect(bf16Round(f32(0x3f81_8000))).toBe(f32(0x3f82_0000));
    expect(bf16Round(f32(0x3f80_8001))).toBe(f32(0x3f81_0000));
    expect(bf16Round(f32(0x3fff_ffff))).toBe(2);
    expect(bf16Round(f32(0x7f7f_ffff))).toBe(Infinity);
    expect(bf16Round(f32(0xff7f_ffff))).toBe(-Infinity);
    expect(bf16Round(f32(0x7f7f_7fff))).toBe(f32(0x7f7f_0000));
    expect(Object.is(bf16Round(-0), -0)).toBe(true);
    expect(bf16Round(f32(0x7f80_0001))).toBeNaN();
    expect(bf16Round(Math.PI)).toBe(3.140625);
    // Every result is a bf16: the low half is zero, and rounding again changes nothing.
    for (const x of values(1000, 9, -1e3, 1e3)) {
      const r = bf16Round(x);
      expect(bitsOf(new Float32Array([r]))[0] & 0xffff).toBe(0);
      expect(bf16Round(r)).toBe(r);
      expect(Math.abs(r - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -8);
    }
  });
});

describe.each([
  ['simd128', 1],
  ['relaxed', 1],
  ['relaxed', 2],
] as const)('bf16-matmul kernels (%s build, %i thread(s))', (variant, threads) => {
  it('round each operand exactly as bf16Round does (a product with 1 is the rounded value itself)', async () => {
    const be = await backend(variant, threads);
    // 41 rows: ten full vectors of the rounding loop and a partial strip.
    const x = new Float32Array(41);
    x.set(SPECIAL);
    x.set(values(41 - SPECIAL.length, 3, -100, 100), SPECIAL.length);
    const want = roundToBf16(x);
    const one = be.fromArray([1], [1, 1]);
    const col = be.fromArray(x, [41, 1]);
    const row = be.fromArray(x, [1, 41]);
    // A's packing (x as a [41, 1] left operand) and B's packing (x as a [1, 41] right operand).
    for (const got of [await be.read(be.matmul(col, one)), await be.read(be.matmul(one, row))]) {
      const g = got as Float32Array;
      for (let i = 0; i < x.length; i++) {
        if (Number.isNaN(want[i])) expect(g[i], `value ${i} (${x[i]})`).toBeNaN();
        // The sum starts at +0, so a -0 product comes out +0: compare zeros by value.
        else if (want[i] === 0) expect(g[i], `value ${i} (${x[i]})`).toBe(0);
        else expect(bitsOf(g.subarray(i, i + 1))[0], `value ${i} (${x[i]})`).toBe(bitsOf(want.subarray(i, i + 1))[0]);
      }
    }
  });

  it('matmul: equals the reference on bf16-rounded operands tightly, the f32 reference within bf16 error', async () => {
    const be = await backend(variant, threads);
    const reference = createReferenceBackend();
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1],
      [7, 17, 3],
      [5, 300, 9],
      [130, 19, 1030],
      [67, 257, 131],
    ];
    let seed = 1;
    for (const [m, k, n] of shapes)
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const a = values(m * k, seed++);
          const b = values(k * n, seed++);
          const [sa, sb] = [transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]];
          const label = `matmul ${m}x${k}x${n} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
          const got = await be.read(be.matmul(be.fromArray(a, sa), be.fromArray(b, sb), transA, transB));
          const rounded = await reference.read(reference.matmul(reference.fromArray(roundToBf16(a), sa), reference.fromArray(roundToBf16(b), sb), transA, transB));
          const exact = await reference.read(reference.matmul(reference.fromArray(a, sa), reference.fromArray(b, sb), transA, transB));
          // Only the order of the f32 sums differs from the rounded reference (every product is exact).
          expect(relativeError(got, rounded), `${label} vs rounded operands`).toBeLessThanOrEqual(2e-6);
          // bf16 operands are within 2^-9 relative each; over k terms of random sign the error relative to the
          // output's scale stays well under 1%.
          const err = relativeError(got, exact);
          expect(err, `${label} vs f32`).toBeLessThanOrEqual(1e-2);
          if (k > 1) expect(err, `${label}: the operands were rounded`).toBeGreaterThan(1e-5);
        }
  });

  it('fused matmuls: equal the unfused bf16 ops bit for bit and the reference on rounded operands', async () => {
    const be = await backend(variant, threads);
    const reference = createReferenceBackend();
    for (const [m, k, n, s] of [
      [7, 17, 3, 1],
      [130, 260, 520, 2],
    ]) {
      const [x, w, w2, res] = [values(m * k, s), values(k * n, s + 1), values(k * n, s + 2), values(m * n, s + 3)];
      const t = (b: Backend, v: Float32Array, shape: number[]) => b.fromArray(v, shape);
      const label = `${m}x${k}x${n}`;
      for (const [transA, transB] of [
        [false, false],
        [false, true],
        [true, false],
      ] as const) {
        const [sa, sb] = [transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]];
        const fused = await be.read(be.matmulAdd(t(be, x, sa), t(be, w, sb), t(be, res, [m, n]), transA, transB));
        const unfused = await be.read(be.add(t(be, res, [m, n]), be.matmul(t(be, x, sa), t(be, w, sb), transA, transB)));
        expect(fused, `matmulAdd ${label}`).toEqual(unfused);
        const want = await reference.read(
          reference.add(t(reference, res, [m, n]), reference.matmul(t(reference, roundToBf16(x), sa), t(reference, roundToBf16(w), sb), transA, transB)),
        );
        expect(relativeError(fused, want), `matmulAdd ${label} vs rounded operands`).toBeLessThanOrEqual(2e-6);
      }
      const { y, gate, up } = be.swigluProjection(t(be, x, [m, k]), t(be, w, [k, n]), t(be, w2, [k, n]));
      const g2 = be.matmul(t(be, x, [m, k]), t(be, w, [k, n]));
      const u2 = be.matmul(t(be, x, [m, k]), t(be, w2, [k, n]));
      expect(await be.read(gate), `gate ${label}`).toEqual(await be.read(g2));
      expect(await be.read(up), `up ${label}`).toEqual(await be.read(u2));
      expect(await be.read(y), `swiglu ${label}`).toEqual(await be.read(be.swiglu(g2, u2)));
    }
  });
});

describe('bf16-matmul mode', () => {
  it('gives the same bits on 1, 2 and 3 threads', async () => {
    const outs: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const be = await backend('relaxed', threads);
      const [m, k, n] = [140, 260, 530];
      const a = be.fromArray(values(m * k, 5), [m, k]);
      const b = be.fromArray(values(k * n, 6), [k, n]);
      const w2 = be.fromArray(values(k * n, 7), [k, n]);
      const c = be.matmul(a, b, false, false);
      const { y } = be.swigluProjection(a, b, w2);
      const add = be.matmulAdd(a, b, c, false, false);
      const tn = be.matmul(a, c, true, false);
      const parts = await Promise.all([c, y, add, tn].map((t) => be.read(t)));
      outs.push(new Float32Array(parts.flatMap((p) => Array.from(p))));
    }
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  });

  it('is off by default (f32, the same bits as before) and leaves every op but the linear matmuls alone', async () => {
    const plain = await createWasmBackend(await loadWasmKernels('relaxed'), { threads: 1 });
    backends.push(plain);
    expect(plain.precision).toBe('f32');
    const bf16 = await backend('relaxed', 1);
    const x = values(64 * 48, 11);
    const w = values(48 * 32, 12);
    const [cf, cb] = await Promise.all([plain, bf16].map((be) => be.read(be.matmul(be.fromArray(x, [64, 48]), be.fromArray(w, [48, 32])))));
    expect(cf).not.toEqual(cb);
    const reference = createReferenceBackend();
    expect(relativeError(cf, await reference.read(reference.matmul(reference.fromArray(x, [64, 48]), reference.fromArray(w, [48, 32]))))).toBeLessThanOrEqual(1e-6);
    // Attention is not a linear layer's matmul: it stays f32 in the mode.
    const q = (be: Backend) => be.fromArray(values(2 * 40 * 2 * 16, 13), [2, 40, 2, 16]);
    const zeros = (be: Backend) => be.fromArray(new Int32Array(2 * 40), [2, 40]);
    const causal = (be: Backend) => ({ querySegments: zeros(be), keySegments: zeros(be), prefixEnd: zeros(be) });
    const attend = (be: Backend): Tensor => be.attention(q(be), q(be), q(be), causal(be), { scale: 0.25 }).out;
    expect(await bf16.read(attend(bf16))).toEqual(await plain.read(attend(plain)));
  });

  it('comes from the option or UNILAB_PRECISION, and a bad value is refused naming where it came from', async () => {
    vi.stubEnv('UNILAB_PRECISION', 'bf16-matmul');
    const fromEnv = await createWasmBackend(await loadWasmKernels('relaxed'), { threads: 1 });
    backends.push(fromEnv);
    expect(fromEnv.precision).toBe('bf16-matmul');
    // The option wins over the environment.
    const fromOption = await createWasmBackend(await loadWasmKernels('relaxed'), { threads: 1, precision: 'f32' });
    backends.push(fromOption);
    expect(fromOption.precision).toBe('f32');
    vi.stubEnv('UNILAB_PRECISION', 'fp8');
    await expect(createWasmBackend(await loadWasmKernels('relaxed'), { threads: 1 })).rejects.toThrow(
      'UNILAB_PRECISION must be one of "f32", "bf16-matmul"; got "fp8"',
    );
    vi.unstubAllEnvs();
    await expect(createWasmBackend(await loadWasmKernels('relaxed'), { threads: 1, precision: 'bf16' as never })).rejects.toThrow(
      'wasm backend option precision must be one of "f32", "bf16-matmul"; got "bf16"',
    );
    expect(() => parseMatmulPrecision(16, 'x')).toThrow('x must be one of "f32", "bf16-matmul"; got 16');
  });
});
