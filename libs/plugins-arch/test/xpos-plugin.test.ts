import { describe, expect, it } from 'vitest';
import { Rng, Tape, Var, createReferenceBackend, sampleModelGradients, type PositionalEncodingPlugin } from '@unilab/core';
// A positional encoding from a plugin package (fixtures/, not a workspace): written with the backend's ops alone.
import { plugins } from '../../../fixtures/plugin-xpos-example/index.js';
import { architecture, rawConfig } from './models.ts';
import { packBatch } from './batches.ts';
import { positionalEncodingPlugins } from '../src/index.ts';

const backend = createReferenceBackend({ precision: 'f64' });
const xpos = plugins[0] as PositionalEncodingPlugin<any>;
const rope = positionalEncodingPlugins.find((p) => p.name === 'rope')!;

function stackOf(headDim: number) {
  return { backend, rng: new Rng(1), prefix: '', dModel: headDim, heads: 1, headDim, attention: 'causal' as const };
}

/** q·k after the encoding rotated q at position m and k at position n (one head of size d). */
function score(plugin: PositionalEncodingPlugin<any>, config: Record<string, unknown>, q: Float32Array, k: Float32Array, m: number, n: number): number {
  const pe = plugin.create(plugin.configSchema.parse(config, 'config'), stackOf(q.length));
  const tape = new Tape(backend, false);
  const at = (p: number) => ({ positions: tape.own(backend.fromArray(new Int32Array([p]), [1, 1], 'i32')) });
  const one = (v: Float32Array, p: number, role: 'query' | 'key') =>
    backend.readFloat(pe.rotate!(tape, new Var(tape.own(backend.fromArray(v, [1, 1, 1, v.length])), false), at(p), role).value);
  const [rq, rk] = [one(q, m, 'query'), one(k, n, 'key')];
  tape.release();
  return rq.reduce((sum, x, i) => sum + x * rk[i], 0);
}

describe('xPos from a plugin package (elementwise multiply on the tape)', () => {
  const rng = new Rng(4);
  const vector = (d: number) => Float32Array.from({ length: d }, () => rng.normal());
  const config = { base: 100, scaleBase: 8, maxPositions: 64 };

  it('scores depend only on the offset, equal RoPE at offset 0 and decay against RoPE with distance', () => {
    const [q, k] = [vector(8), vector(8)];
    for (const [m, n] of [[3, 1], [9, 2], [5, 5]]) {
      const s = score(xpos, config, q, k, m, n);
      // The scale table is f32: products agree to its rounding (~1e-7 relative).
      for (const shift of [1, 7, 40]) expect(score(xpos, config, q, k, m + shift, n + shift)).toBeCloseTo(s, 6);
    }
    expect(score(xpos, config, q, k, 6, 6)).toBeCloseTo(score(rope, { base: 100 }, q, k, 6, 6), 6);
    // With one pair (D = 2) the decay is a single factor ζ_0^((m-n)/s), ζ_0 = γ / (1 + γ).
    const [q2, k2] = [vector(2), vector(2)];
    const zeta = 0.4 / 1.4;
    expect(score(xpos, config, q2, k2, 11, 3)).toBeCloseTo(score(rope, { base: 100 }, q2, k2, 11, 3) * Math.pow(zeta, 8 / 8), 6);
  });

  it('a decoder with xPos and grouped keys: gradients match finite differences (float64)', () => {
    const registry = new Map([[xpos.name, xpos]]);
    const plugin = architecture('decoder');
    const raw = rawConfig('decoder', 1, { dModel: 8, heads: 4, kvHeads: 2, ffnHidden: 6, positionalEncoding: { name: 'xpos', config } });
    const model = plugin.create(plugin.configSchema.parse(raw, 'model'), {
      backend,
      vocabSize: 9,
      rng: new Rng(5),
      positionalEncoding: (name) => registry.get(name)!,
    });
    const causal = { kind: 'causal' as const };
    const { batch } = packBatch([[{ length: 4, mode: causal }, { length: 3, mode: causal }], [{ length: 6, mode: causal }]], 8, 9, 2);
    const samples = sampleModelGradients(backend, model, batch, { samplesPerParameter: 4, seed: 8 });
    expect(samples.length).toBeGreaterThan(10);
    for (const { where, analytic, numeric } of samples) expect(Math.abs(analytic - numeric), where).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
  });

  it('refuses a sequence longer than its scale table, naming the field', () => {
    expect(xpos.check!(xpos.configSchema.parse({ maxPositions: 16 }, 'c'), { architecture: 'decoder', seqLen: 32 })).toBe(
      'maxPositions (16) must be at least the sequence length (32)',
    );
    expect(() => xpos.configSchema.parse({ scale: 2 }, 'spec.model.config.positionalEncoding.config')).toThrow(
      'spec.model.config.positionalEncoding.config.scale: unknown field; allowed fields are base, gamma, scaleBase, maxPositions',
    );
  });
});
