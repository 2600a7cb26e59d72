import type { Backend, Tensor } from '@unilab/core';

/**
 * A Backend that times every call of the one it wraps. Ops are synchronous (the WASM backend blocks until its
 * workers are done), so the wall time of a call is the op's time. Matmul is split by its transposition: NN is
 * the forward of a linear layer, NT its dX and TN its dW. With `shapes`, the matmuls (fused ones included) are
 * also split by their m×k×n, and take() counts their flops under the same names (`flops`).
 */
export function profiled(inner: Backend, opts: { shapes?: boolean } = {}): { backend: Backend; take(): Record<string, number>; flops(): Record<string, number> } {
  let times: Record<string, number> = {};
  let flops: Record<string, number> = {};
  const backend = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const result = value.apply(target, args);
        const seconds = (performance.now() - t0) / 1000;
        let name = key === 'matmul' ? `matmul ${args[2] ? 'T' : 'N'}${args[3] ? 'T' : 'N'}` : key;
        if (opts.shapes) {
          const product = matmulProduct(key, args);
          if (product) {
            name = product.name;
            flops[name] = (flops[name] ?? 0) + product.flops;
          }
        }
        times[name] = (times[name] ?? 0) + seconds;
        return result;
      };
    },
  });
  return {
    backend,
    take() {
      const t = times;
      times = {};
      flops = {};
      return t;
    },
    flops: () => ({ ...flops }),
  };
}

/** The name (op, transposition, m×k×n) and flops of a matmul-like call, else undefined. */
function matmulProduct(op: string, args: unknown[]): { name: string; flops: number } | undefined {
  const [a, b] = args as Tensor[];
  const dims = (transA: boolean, transB: boolean) => {
    const last = (t: Tensor) => t.shape[t.shape.length - 1];
    const m = transA ? last(a) : a.size / last(a);
    const k = transA ? a.size / last(a) : last(a);
    const n = transB ? b.size / last(b) : last(b);
    return `${m}×${k}×${n}`;
  };
  const size = (s: string) => s.split('×').reduce((p, x) => p * Number(x), 1);
  if (op === 'matmul' || op === 'matmulAdd') {
    const [ta, tb] = op === 'matmul' ? [!!args[2], !!args[3]] : [!!args[3], !!args[4]];
    const shape = dims(ta, tb);
    return { name: `${op} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${shape}`, flops: 2 * size(shape) };
  }
  if (op === 'swigluProjection') {
    const shape = dims(false, false);
    return { name: `${op} ${shape} (×2)`, flops: 4 * size(shape) };
  }
  return undefined;
}
