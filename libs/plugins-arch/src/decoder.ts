import type { ArchitecturePlugin, BatchTensors, Model, ModelEnvironment, Tape, Var } from '@unilab/core';
import { SpecError, field, integer, number, object, ops } from '@unilab/core';
import { normalParameter, onesParameter } from './init.ts';
import { createLlamaBlock, llamaBlockForward, llamaBlockParameters, type LlamaBlockParams } from './llama-block.ts';

const decoderSchema = object({
  layers: field(integer({ min: 1, max: 96 }), 2),
  dModel: field(integer({ min: 2, max: 8192 }), 128),
  heads: field(integer({ min: 1, max: 128 }), 4),
  /** Key/value heads; fewer than `heads` is grouped-query attention, 1 is multi-query. Defaults to `heads`. */
  kvHeads: field(integer({ min: 0, max: 128 }), 0),
  ffnHidden: field(integer({ min: 1, max: 65536 }), 0),
  normEps: field(number({ greaterThan: 0, max: 1 }), 1e-5),
  ropeBase: field(number({ greaterThan: 1 }), 10000),
});

export type DecoderConfig = ReturnType<typeof decoderSchema.parse>;

/** LLaMA's FFN width: 2/3 of 4d rounded up to a multiple of 8 (688 for d = 256). */
export function llamaFfnHidden(dModel: number): number {
  return Math.ceil((8 * dModel) / 3 / 8) * 8;
}

/**
 * Decoder-only LLaMA-style transformer (causal LM when the batch's prefixEnd is 0): token embedding, N pre-norm
 * blocks with RoPE and SwiGLU, final RMSNorm, untied output head.
 */
export const decoder: ArchitecturePlugin<DecoderConfig> = {
  kind: 'architecture',
  name: 'decoder',
  description: 'LLaMA-style decoder-only transformer (pre-RMSNorm, SwiGLU, RoPE, untied head)',
  configSchema: {
    describe: decoderSchema.describe,
    parse(value, path) {
      const c = decoderSchema.parse(value, path);
      if (c.dModel % c.heads !== 0) throw new SpecError(`${path}.heads`, `must divide dModel (${c.dModel}); got ${c.heads}`);
      if ((c.dModel / c.heads) % 2 !== 0) throw new SpecError(`${path}.heads`, `RoPE needs an even head size; dModel / heads = ${c.dModel / c.heads}`);
      const kvHeads = c.kvHeads === 0 ? c.heads : c.kvHeads;
      if (c.heads % kvHeads !== 0) throw new SpecError(`${path}.kvHeads`, `must divide heads (${c.heads}); got ${kvHeads}`);
      return { ...c, kvHeads, ffnHidden: c.ffnHidden === 0 ? llamaFfnHidden(c.dModel) : c.ffnHidden };
    },
  },
  create(config, env: ModelEnvironment): Model {
    const { backend, rng, vocabSize } = env;
    const d = config.dModel;
    const residualStd = 0.02 / Math.sqrt(2 * config.layers);
    const embed = normalParameter(backend, rng, 'tok_embeddings', [vocabSize, d], 0.02);
    const blocks: LlamaBlockParams[] = [];
    for (let l = 0; l < config.layers; l++) blocks.push(createLlamaBlock(backend, rng, `layers.${l}`, config, residualStd));
    const norm = onesParameter(backend, 'norm', d);
    const output = normalParameter(backend, rng, 'output', [d, vocabSize], 0.02);
    return {
      architecture: 'decoder',
      config: { ...config },
      params: [embed, ...blocks.flatMap(llamaBlockParameters), norm, output],
      forward(tape: Tape, batch: BatchTensors): Var {
        let x = ops.embedding(tape, batch.tokens, tape.param(embed));
        for (const block of blocks) x = llamaBlockForward(tape, x, block, config, batch.mask, batch.positions);
        return ops.linear(tape, ops.rmsnorm(tape, x, tape.param(norm), config.normEps), tape.param(output));
      },
    };
  },
};
