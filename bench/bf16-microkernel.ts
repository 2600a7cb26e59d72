/**
 * `npm run bench:bf16-microkernel`: what this engine does with bf16 operands in matmul's inner loops, measured on
 * hand-written WebAssembly (so the instructions are exactly the ones named, whatever a compiler would choose).
 *
 * Each variant is kernels-rs/src/matmul.rs's macro-kernel (every 4×8 register tile of an MC×NC block of C over one
 * KC-deep slice of packed panels, MC = 128, NC = 512, KC = 256, eight f32x4 accumulators) with a different inner loop:
 *
 *   f32 FMA          the shipped relaxed build: per depth two f32x4 loads of B, four load32_splat of A, eight
 *                    f32x4.relaxed_madd (panels: A 128 KiB, B 512 KiB)
 *   bf16 panels      both panels stored as bf16 (half the bytes: A 64 KiB, B 256 KiB), two depths interleaved per
 *                    32-bit word; each v128 is widened in registers to two f32x4 (i32x4.shl by 16 for the even
 *                    depth, v128.and with 0xffff0000 for the odd one: exact, bf16 is the top half of an f32), then
 *                    the same eight relaxed_madd per depth
 *   bf16 B panel     only B stored as bf16 (A stays f32; it is 1/4 of B's bytes), widened as above
 *   bf16 dot         f32x4.relaxed_dot_bf16x8_add_f32 (0xfd 0x114): per two depths eight dots of a splatted
 *                    bf16 pair of A against the interleaved B; reported as rejected where the engine does not
 *                    validate the instruction
 *
 * One thread and two (one worker per thread, each with its own module and memory, started together); GFLOP/s =
 * 2·MC·NC·KC per call, best of `--runs` (default 7) timed batches of 100 calls after 20 warm-up calls, the variants
 * taking turns batch by batch. Prints the environment (CPU, engines, load average before and after). Under Node 20
 * the relaxed-SIMD flag is set here, as the loader does; `deno run -A --conditions=development
 * bench/bf16-microkernel.ts` runs it under Deno.
 */
import { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { benchEnvironment } from './reference-check.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--runs');
const runs = at >= 0 ? Number(argv[at + 1]) : 7;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${argv[at + 1]}`);

const MC = 128;
const NC = 512;
const KC = 256;
const FLOPS = 2 * MC * NC * KC;

// ---- a tiny WebAssembly assembler: just what the kernels need ----

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const simd = (op: number) => [0xfd, ...uleb(op)];
const mem = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];
const I = {
  get: (l: number) => [0x20, ...uleb(l)],
  set: (l: number) => [0x21, ...uleb(l)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  ltU: [0x49],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  end: [0x0b],
  load: (off: number) => [...simd(0x00), ...mem(4, off)],
  store: (off: number) => [...simd(0x0b), ...mem(4, off)],
  load32Splat: (off: number) => [...simd(0x09), ...mem(2, off)],
  const128: (bytes: number[]) => [...simd(0x0c), ...bytes],
  and: simd(0x4e),
  shl: simd(0xab),
  madd: simd(0x105), // f32x4.relaxed_madd
  dotBf16: simd(0x114), // f32x4.relaxed_dot_bf16x8_add_f32
};
const V128 = 0x7b;
const I32 = 0x7f;

// Locals of every kernel: params a, b, c (pointers); then i32 jr, ir, p, ap, bp, cp; then v128 x00..x31, b0, b1, r0, r1,
// t, mask.
const [A, B, C] = [0, 1, 2];
const [JR, IR, P, AP, BP, CP] = [3, 4, 5, 6, 7, 8];
const X = [9, 10, 11, 12, 13, 14, 15, 16]; // x_r0, x_r1 for r = 0..3
const [B0, B1, R0, R1, T, MASK] = [17, 18, 19, 20, 21, 22];

type Variant = 'f32 FMA' | 'bf16 panels' | 'bf16 B panel' | 'bf16 dot';
/** Bytes of one depth of an A strip (4 rows) and of a B strip (8 columns). */
const elemBytes = (v: Variant) => ({ a: v === 'f32 FMA' || v === 'bf16 B panel' ? 4 : 2, b: v === 'f32 FMA' ? 4 : 2 });

/** acc += a·b for rows r (a = local `a`), columns 0..3 (b0) and 4..7 (b1). */
const fmaRow = (r: number, a: number, b0: number, b1: number) => [
  ...I.get(a), ...I.get(b0), ...I.get(X[2 * r]), ...I.madd, ...I.set(X[2 * r]),
  ...I.get(a), ...I.get(b1), ...I.get(X[2 * r + 1]), ...I.madd, ...I.set(X[2 * r + 1]),
];

/** The body of the depth loop: one depth (f32) or two (bf16), advancing ap and bp. */
function depthStep(v: Variant): number[] {
  const out: number[] = [];
  const widenEven = (src: number, dst: number) => [...I.get(src), ...I.i32(16), ...I.shl, ...I.set(dst)];
  const widenOdd = (src: number, dst: number) => [...I.get(src), ...I.get(MASK), ...I.and, ...I.set(dst)];
  if (v === 'f32 FMA') {
    out.push(...I.get(BP), ...I.load(0), ...I.set(B0), ...I.get(BP), ...I.load(16), ...I.set(B1));
    for (let r = 0; r < 4; r++) out.push(...I.get(AP), ...I.load32Splat(4 * r), ...I.set(T), ...fmaRow(r, T, B0, B1));
    out.push(...I.get(AP), ...I.i32(16), ...I.add, ...I.set(AP), ...I.get(BP), ...I.i32(32), ...I.add, ...I.set(BP));
    return out;
  }
  // B: 32 bytes hold depths p, p+1 of 8 columns, (col j, depth p) in the low half of word j, depth p+1 in the high.
  out.push(...I.get(BP), ...I.load(0), ...I.set(R0), ...I.get(BP), ...I.load(16), ...I.set(R1));
  if (v === 'bf16 dot') {
    for (let r = 0; r < 4; r++) {
      out.push(...I.get(AP), ...I.load32Splat(4 * r), ...I.set(T));
      for (const [raw, x] of [[R0, X[2 * r]], [R1, X[2 * r + 1]]])
        out.push(...I.get(T), ...I.get(raw), ...I.get(x), ...I.dotBf16, ...I.set(x));
    }
  } else {
    for (const [depth, widen] of [[0, widenEven], [1, widenOdd]] as const) {
      out.push(...widen(R0, B0), ...widen(R1, B1));
      for (let r = 0; r < 4; r++) {
        if (v === 'bf16 B panel') out.push(...I.get(AP), ...I.load32Splat(16 * depth + 4 * r), ...I.set(T));
        else out.push(...I.get(AP), ...I.load32Splat(4 * r), ...I.set(T), ...widen(T, T));
        out.push(...fmaRow(r, T, B0, B1));
      }
    }
  }
  const aStep = v === 'bf16 B panel' ? 32 : 16;
  out.push(...I.get(AP), ...I.i32(aStep), ...I.add, ...I.set(AP), ...I.get(BP), ...I.i32(32), ...I.add, ...I.set(BP));
  return out;
}

/** (a, b, c): for every 8-column strip jr of B, every 4-row strip ir of A: C[ir.., jr..] = A strip · B strip over KC. */
function macroKernel(v: Variant): number[] {
  const { a: ea, b: eb } = elemBytes(v);
  const depths = v === 'f32 FMA' ? KC : KC / 2;
  const body: number[] = [];
  body.push(...I.const128(Array.from({ length: 16 }, (_, i) => (i % 4 >= 2 ? 0xff : 0))), ...I.set(MASK));
  body.push(...I.i32(0), ...I.set(JR), ...I.block, ...I.loop);
  body.push(...I.i32(0), ...I.set(IR), ...I.block, ...I.loop);
  // ap = a + ir·KC·ea (strip ir/4 of 4·KC elements), bp = b + jr·KC·eb, cp = c + (ir·NC + jr)·4
  body.push(...I.get(A), ...I.get(IR), ...I.i32(KC * ea), ...I.mul, ...I.add, ...I.set(AP));
  body.push(...I.get(B), ...I.get(JR), ...I.i32(KC * eb), ...I.mul, ...I.add, ...I.set(BP));
  body.push(...I.get(C), ...I.get(IR), ...I.i32(NC), ...I.mul, ...I.get(JR), ...I.add, ...I.i32(4), ...I.mul, ...I.add, ...I.set(CP));
  for (const x of X) body.push(...I.const128(new Array(16).fill(0)), ...I.set(x));
  body.push(...I.i32(depths), ...I.set(P), ...I.loop, ...depthStep(v));
  body.push(...I.get(P), ...I.i32(1), ...I.sub, ...I.set(P), ...I.get(P), ...I.brIf(0), ...I.end);
  for (let r = 0; r < 4; r++)
    for (let h = 0; h < 2; h++) body.push(...I.get(CP), ...I.get(X[2 * r + h]), ...I.store(r * NC * 4 + 16 * h));
  body.push(...I.get(IR), ...I.i32(4), ...I.add, ...I.set(IR), ...I.get(IR), ...I.i32(MC), ...I.ltU, ...I.brIf(0), ...I.end, ...I.end);
  body.push(...I.get(JR), ...I.i32(8), ...I.add, ...I.set(JR), ...I.get(JR), ...I.i32(NC), ...I.ltU, ...I.brIf(0), ...I.end, ...I.end);
  body.push(...I.end);
  const locals = [...uleb(2), ...uleb(6), I32, ...uleb(14), V128];
  const fn = [...locals, ...body];
  return [...uleb(fn.length), ...fn];
}

const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
const name = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];

/** A module exporting `memory` (32 pages) and `kernel(a, b, c)`. */
function moduleFor(v: Variant): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, I32, I32, I32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 32]),
    ...section(7, [2, ...name('memory'), 2, 0, ...name('kernel'), 0, 0]),
    ...section(10, [1, ...macroKernel(v)]),
  ]);
}

// ---- timing: each worker compiles its module, fills its panels, waits for the start word, runs `calls` calls ----

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, calls, warm, start } = workerData;
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
const { memory, kernel } = inst.exports;
const [a, b, c] = [0, 256 * 1024, 1024 * 1024];
// Panels of small normal numbers (any bit pattern of this range is a normal f32 and a normal bf16 pair).
const words = new Uint32Array(memory.buffer, 0, (1024 * 1024) / 4);
let s = 12345;
for (let i = 0; i < words.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; words[i] = (s & 0x807f807f) | 0x3c003c00; }
for (let i = 0; i < warm; i++) kernel(a, b, c);
const flag = new Int32Array(start);
Atomics.add(flag, 1, 1);
Atomics.wait(flag, 0, 0);
const t0 = performance.now();
for (let i = 0; i < calls; i++) kernel(a, b, c);
parentPort.postMessage(performance.now() - t0);
`;

async function timeThreads(bytes: Uint8Array<ArrayBuffer>, threads: number, calls: number): Promise<number> {
  const start = new SharedArrayBuffer(8);
  const workers = Array.from({ length: threads }, () => new Worker(workerSource, { eval: true, workerData: { bytes, calls, warm: 20, start } }));
  const done = workers.map((w) => new Promise<number>((resolve, reject) => (w.once('message', resolve), w.once('error', reject))));
  const flag = new Int32Array(start);
  while (Atomics.load(flag, 1) < threads) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  await Promise.all(done);
  const wall = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return wall / 1000;
}

if (Number(process.versions.node.split('.')[0]) < 22 && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined')
  setFlagsFromString('--experimental-wasm-relaxed-simd');

const machine = benchEnvironment({ threads: 2 });
console.log(`panels: MC ${MC} × KC ${KC} (A), KC ${KC} × NC ${NC} (B); one call = ${(FLOPS / 1e6).toFixed(1)} MFLOP; best of ${runs}`);
const variants: Variant[] = ['f32 FMA', 'bf16 panels', 'bf16 B panel', 'bf16 dot'];
const rows: string[] = ['| inner loop | panel bytes (A + B) | 1 thread GFLOP/s | 2 threads GFLOP/s (total) |', '|---|---|---|---|'];
const CALLS = 100;
// The variants run batch by batch in turn (best of `runs` each), so load from other processes falls on all alike.
const runnable = variants.filter((v) => WebAssembly.validate(moduleFor(v)));
const best = new Map(runnable.map((v) => [v, [Infinity, Infinity]]));
for (let r = 0; r < runs; r++)
  for (const threads of [1, 2])
    for (const v of runnable) {
      const seconds = await timeThreads(moduleFor(v), threads, CALLS);
      const b = best.get(v)!;
      b[threads - 1] = Math.min(b[threads - 1], seconds);
    }
for (const v of variants) {
  const { a, b } = elemBytes(v);
  const panel = `${(MC * KC * a) / 1024} + ${(KC * NC * b) / 1024} KiB`;
  const seconds = best.get(v);
  if (!seconds) {
    let why = '';
    try {
      new WebAssembly.Module(moduleFor(v));
    } catch (e) {
      why = (e as Error).message;
    }
    rows.push(`| ${v} | ${panel} | rejected by this engine (${why.replace(/\|/g, '/')}) | — |`);
    continue;
  }
  const gflops = seconds.map((sec, i) => ((i + 1) * CALLS * FLOPS) / sec / 1e9);
  rows.push(`| ${v} | ${panel} | ${gflops[0].toFixed(1)} | ${gflops[1].toFixed(1)} |`);
}
for (const r of rows) console.log(r);
machine.printLoadAfter();
