import { afterAll, describe, expect, it } from 'vitest';
import type { AttentionMask, Backend } from '../src/index.ts';
import { createWasmBackend, loadWasmKernels, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import { agrees, values } from './wasm-compare.ts';

// The flash-style attention of kernels-rs (attention.rs) against the reference kernel, forward (out, lse) and
// backward (dq, dk, dv, dbias), for every mask descriptor the batch format produces, on odd shapes that cut the
// 32×32 tiles unevenly.

interface Case {
  name: string;
  b: number;
  tq: number;
  tk: number;
  h: number;
  hkv: number;
  d: number;
  /** Per batch row: query segments, key segments, prefix ends. */
  mask: (bi: number) => { qseg: number[]; kseg: number[]; prefix: number[] };
  bias?: boolean;
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

const cases: Case[] = [
  { name: 'causal', b: 2, tq: 37, tk: 37, h: 3, hkv: 3, d: 16, mask: () => ({ qseg: range(37, () => 0), kseg: range(37, () => 0), prefix: range(37, () => 0) }) },
  {
    name: 'causal, long (several tiles per row), head size 64',
    b: 1,
    tq: 97,
    tk: 97,
    h: 2,
    hkv: 2,
    d: 64,
    mask: () => ({ qseg: range(97, () => 0), kseg: range(97, () => 0), prefix: range(97, () => 0) }),
  },
  {
    name: 'prefix LM (bidirectional prefix of a different length per batch row)',
    b: 2,
    tq: 41,
    tk: 41,
    h: 2,
    hkv: 2,
    d: 8,
    mask: (bi) => ({ qseg: range(41, () => 0), kseg: range(41, () => 0), prefix: range(41, () => (bi === 0 ? 13 : 35)) }),
  },
  {
    name: 'bidirectional (encoder): prefix end = Tk',
    b: 1,
    tq: 33,
    tk: 33,
    h: 2,
    hkv: 1,
    d: 7,
    mask: () => ({ qseg: range(33, () => 0), kseg: range(33, () => 0), prefix: range(33, () => 33) }),
  },
  {
    name: 'packed documents (segments), causal within each',
    b: 2,
    tq: 70,
    tk: 70,
    h: 4,
    hkv: 2,
    d: 12,
    mask: (bi) => {
      const seg = range(70, (i) => (i < 9 + bi ? 0 : i < 40 ? 1 : 2));
      return { qseg: seg, kseg: seg, prefix: range(70, () => 0) };
    },
  },
  {
    name: 'unsorted segments with per-row prefixes (the generic per-element mask)',
    b: 1,
    tq: 45,
    tk: 45,
    h: 2,
    hkv: 2,
    d: 9,
    mask: () => {
      const seg = range(45, (i) => (i * 7) % 3);
      return { qseg: seg, kseg: seg, prefix: range(45, (i) => (i * 5) % 45) };
    },
  },
  {
    name: 'cross-attention Tq != Tk (decoder sees the whole encoder)',
    b: 2,
    tq: 19,
    tk: 53,
    h: 4,
    hkv: 4,
    d: 16,
    mask: () => ({ qseg: range(19, () => 0), kseg: range(53, () => 0), prefix: range(19, () => 53) }),
  },
  {
    name: 'cross-attention Tq > Tk under the causal clause',
    b: 1,
    tq: 50,
    tk: 23,
    h: 2,
    hkv: 2,
    d: 8,
    mask: () => ({ qseg: range(50, () => 0), kseg: range(23, () => 0), prefix: range(50, () => 0) }),
  },
  {
    name: 'grouped-query (6 query heads on 2 kv heads) and multi-query (1 kv head)',
    b: 2,
    tq: 35,
    tk: 35,
    h: 6,
    hkv: 2,
    d: 10,
    mask: () => ({ qseg: range(35, () => 0), kseg: range(35, () => 0), prefix: range(35, () => 0) }),
  },
  {
    name: 'multi-query',
    b: 1,
    tq: 35,
    tk: 35,
    h: 3,
    hkv: 1,
    d: 6,
    mask: () => ({ qseg: range(35, () => 0), kseg: range(35, () => 0), prefix: range(35, () => 0) }),
  },
  {
    name: 'additive bias (ALiBi/T5-style) with its gradient, packed documents, GQA',
    b: 3,
    tq: 39,
    tk: 39,
    h: 4,
    hkv: 2,
    d: 8,
    bias: true,
    mask: (bi) => {
      const seg = range(39, (i) => (i < 10 * (bi + 1) ? 0 : 1));
      return { qseg: seg, kseg: seg, prefix: range(39, () => bi * 5) };
    },
  },
  {
    // More query rows than one backward chunk (1,024): the chunks' shares of dk and dv are added after, and the
    // forward's rows are cut into chunks when there are fewer (batch, kv head) pairs than threads want.
    name: 'longer than one backward chunk: two documents, the second with a bidirectional prefix, grouped-query',
    b: 1,
    tq: 1100,
    tk: 1100,
    h: 2,
    hkv: 1,
    d: 8,
    mask: () => {
      const seg = range(1100, (i) => (i < 70 ? 0 : 1));
      return { qseg: seg, kseg: seg, prefix: range(1100, (i) => (i < 70 ? 0 : 600)) };
    },
  },
  {
    name: 'queries that see no key get zeros and lse -inf, never NaN',
    b: 2,
    tq: 34,
    tk: 34,
    h: 2,
    hkv: 2,
    d: 8,
    bias: true,
    mask: (bi) => ({
      // Segment 7 of the queries exists in no key.
      qseg: range(34, (i) => (i % 5 === 0 || (bi === 1 && i > 20) ? 7 : 0)),
      kseg: range(34, () => 0),
      prefix: range(34, () => 0),
    }),
  },
];

function maskOf(be: Backend, c: Case): AttentionMask {
  const rows = range(c.b, (bi) => c.mask(bi));
  return {
    querySegments: be.fromArray(Int32Array.from(rows.flatMap((r) => r.qseg)), [c.b, c.tq]),
    keySegments: be.fromArray(Int32Array.from(rows.flatMap((r) => r.kseg)), [c.b, c.tk]),
    prefixEnd: be.fromArray(Int32Array.from(rows.flatMap((r) => r.prefix)), [c.b, c.tq]),
  };
}

function run(be: Backend, c: Case) {
  const q = be.fromArray(values(c.b * c.tq * c.h * c.d, 1, -2, 2), [c.b, c.tq, c.h, c.d]);
  const k = be.fromArray(values(c.b * c.tk * c.hkv * c.d, 2, -2, 2), [c.b, c.tk, c.hkv, c.d]);
  const v = be.fromArray(values(c.b * c.tk * c.hkv * c.d, 3), [c.b, c.tk, c.hkv, c.d]);
  const dout = be.fromArray(values(c.b * c.tq * c.h * c.d, 4), [c.b, c.tq, c.h, c.d]);
  const options = { scale: 1 / Math.sqrt(c.d), ...(c.bias ? { bias: be.fromArray(values(c.h * c.tq * c.tk, 5, -3, 1), [c.h, c.tq, c.tk]) } : {}) };
  const mask = maskOf(be, c);
  const { out, lse } = be.attention(q, k, v, mask, options);
  const grads = be.attentionBackward(dout, q, k, v, out, lse, mask, options);
  return { out, lse, ...grads };
}

const backends: WasmBackend[] = [];
afterAll(() => backends.forEach((b) => b.close()));

describe.each([
  ['simd128', 1],
  ['relaxed', 2],
] as const)('wasm attention (%s build, %i thread(s)) equals the reference within 1e-4', (variant, threads) => {
  for (const c of cases) {
    it(c.name, async () => {
      const be = await createWasmBackend(await loadWasmKernels(variant), { threads });
      backends.push(be);
      await agrees(c.name, be, (r) => run(r, c));
      const outputs = run(be, c);
      for (const [name, t] of Object.entries(outputs)) {
        if (!t) continue;
        const data = await be.read(t);
        const bad = Array.from(data).findIndex((x) => Number.isNaN(x) || (name !== 'lse' && !Number.isFinite(x)));
        expect(bad, `${c.name}: ${name} holds a NaN or infinity`).toBe(-1);
      }
    });
  }
});
