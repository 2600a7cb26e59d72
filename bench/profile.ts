import type { Backend } from '@unilab/core';

/**
 * A Backend that times every call of the one it wraps. Ops are synchronous (the WASM backend blocks until its
 * workers are done), so the wall time of a call is the op's time. Matmul is split by its transposition: NN is
 * the forward of a linear layer, NT its dX and TN its dW.
 */
export function profiled(inner: Backend): { backend: Backend; take(): Record<string, number> } {
  let times: Record<string, number> = {};
  const backend = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const result = value.apply(target, args);
        const name = key === 'matmul' ? `matmul ${args[2] ? 'T' : 'N'}${args[3] ? 'T' : 'N'}` : key;
        times[name] = (times[name] ?? 0) + (performance.now() - t0) / 1000;
        return result;
      };
    },
  });
  return {
    backend,
    take() {
      const t = times;
      times = {};
      return t;
    },
  };
}
