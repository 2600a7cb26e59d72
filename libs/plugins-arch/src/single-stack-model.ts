import type { AttentionPattern, BatchTensors, Infer, Model, ModelEnvironment, Schema, Tape, Var } from '@unilab/core';
import { field, integer, object, ops } from '@unilab/core';
import { modelFields, resolveOptions, type ModelOptions } from './config.ts';
import { normalParameter } from './init.ts';
import { logits, outputHeadParameters, type OutputHead } from './output-head.ts';
import { dropoutContext } from './residual-dropout.ts';
import { allocateLayerSlots, canDecode, checkCapacity, createDecodingSession, decodingMask, slotTensors } from './kv-cache.ts';
import { createStack, stackAttentionSites, stackForward, stackParameters } from './stack.ts';
import { modelTuning } from './tuning.ts';

const singleStackFields = { layers: field(integer({ min: 1, max: 96 }), 2), ...modelFields };

/** The config of every one-stack architecture (decoder, prefix-lm, unilm, glm, encoder). */
export type SingleStackConfig = Omit<Infer<typeof singleStackFields>, 'ropeBase'> & ModelOptions;

export function singleStackConfigSchema(defaultEncoding: string): Schema<SingleStackConfig> {
  const schema = object(singleStackFields);
  return { describe: schema.describe, parse: (value, path) => resolveOptions(schema.parse(value, path), path, defaultEncoding) };
}

/** What sets the one-stack architectures apart: how their attention is used and which positions they read. */
export interface SingleStackArchitecture {
  name: string;
  attention: AttentionPattern;
  /** GLM reads batch.blockPositions as its second position dimension. */
  blockPositions: boolean;
}

/**
 * A one-stack transformer (nanoGPT's GPT with LLaMA's blocks by default):
 *   x = tok_embeddings[tokens] → positional encoding → N blocks under the batch's mask → final norm → output head.
 * The attention mask is the Batch's (segments and prefixEnd), so the same network is a prefix LM, UniLM, GLM or a BERT
 * encoder depending on what the objective's batches say; a causal architecture keeps the segments and drops the
 * prefix (prefixEnd 0). The architecture names the pattern its positional encoding and the compatibility checks rely
 * on. It decodes incrementally with a key/value cache (kv-cache.ts) unless its encoding adds a bias it cannot give
 * row by row. Parameters: tok_embeddings, the encoding's tables,
 * layers.N.*, norm (pre-norm only), output (untied only).
 */
export function createSingleStackModel(arch: SingleStackArchitecture, config: SingleStackConfig, env: ModelEnvironment): Model {
  const { backend, rng, vocabSize } = env;
  const embed = normalParameter(backend, rng, 'tok_embeddings', [vocabSize, config.dModel], 0.02);
  const stack = createStack(env, config, {
    architecture: arch.name,
    prefix: '',
    layers: config.layers,
    attention: arch.attention,
    positionDims: arch.blockPositions ? 2 : 1,
    crossAttention: false,
    dropoutSites: 0,
    tuning: modelTuning(env),
  });
  const head: OutputHead = config.tieEmbeddings
    ? { tied: true, table: embed }
    : { tied: false, output: normalParameter(backend, rng, 'output', [config.dModel, vocabSize], 0.02) };
  // Drawn last, and only with dropout on, so models without dropout initialise exactly as before it existed.
  const dropoutSeed = config.dropout > 0 ? rng.nextU32() : 0;
  const hidden = (tape: Tape, batch: BatchTensors): Var => {
    // A batch without block positions (e.g. plain causal LM text) is all Part A: block position 0 (Du et al. 2022).
    const blockPositions = arch.blockPositions
      ? (batch.blockPositions ?? tape.own(backend.zeros([batch.batchSize, batch.seqLen], 'i32')))
      : undefined;
    // A causal architecture reads every example left to right, whatever prefix the objective marked bidirectional.
    const mask =
      arch.attention === 'causal' ? { ...batch.mask, prefixEnd: tape.own(backend.zeros([batch.batchSize, batch.seqLen], 'i32')) } : batch.mask;
    const x = ops.embedding(tape, batch.tokens, tape.param(embed));
    return stackForward(tape, x, stack, config, {
      mask,
      at: { positions: batch.positions, blockPositions },
      dropout: dropoutContext(tape, config.dropout, batch.tokens, dropoutSeed),
    });
  };
  return {
    architecture: arch.name,
    config: { ...config },
    params: [embed, ...stackParameters(stack), ...outputHeadParameters(head)],
    hiddenStates: { width: config.dModel, read: hidden },
    attentionSites: stackAttentionSites(stack, 'stack'),
    forward: (tape: Tape, batch: BatchTensors): Var => logits(tape, hidden(tape, batch), head),
    startDecoding(start) {
      if (!canDecode(stack.encoding)) return null;
      if (start.encoder) throw new Error(`startDecoding: ${arch.name} has no encoder; give the whole sequence to the decoding steps`);
      checkCapacity(start.capacity);
      const slots = allocateLayerSlots(backend, config.layers, start.capacity, config.kvHeads, config.dModel / config.heads);
      return createDecodingSession(backend, start.capacity, slotTensors(slots), (tape, step, slot) => {
        const n = step.tokens.length;
        const ids = (values: Int32Array) => tape.own(backend.fromArray(values, [1, n], 'i32'));
        const blockPositions = arch.blockPositions ? ids(step.blockPositions ?? new Int32Array(n)) : undefined;
        const x = ops.embedding(tape, ids(step.tokens), tape.param(embed));
        const h = stackForward(tape, x, stack, config, {
          mask: decodingMask(tape, arch.attention === 'causal' ? { ...step, prefixEnd: new Int32Array(n) } : step, slot, start.capacity),
          at: { positions: ids(step.positions), blockPositions },
          decoding: { slot, capacity: start.capacity, blocks: slots.map((self) => ({ self })) },
        });
        return logits(tape, h, head);
      });
    },
  };
}
