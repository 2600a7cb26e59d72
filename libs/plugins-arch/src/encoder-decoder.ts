import type { ArchitecturePlugin, Backend, BatchTensors, Infer, Model, ModelEnvironment, Parameter, Schema, Var } from '@unilab/core';
import { Tape, boolean, field, integer, object, ops } from '@unilab/core';
import { keysAndValues } from './attention-layer.ts';
import { modelFields, resolveOptions, type ModelOptions } from './config.ts';
import { rowTrainingFlops, trainingFootprint } from './describe.ts';
import { normalParameter } from './init.ts';
import { logits, outputHeadParameters, type OutputHead } from './output-head.ts';
import { dropoutContext } from './residual-dropout.ts';
import { allocateLayerSlots, canDecode, checkCapacity, createDecodingSession, decodingMask, keepBeyondTape, slotTensors } from './kv-cache.ts';
import { createStack, stackAttentionSites, stackForward, stackParameters, type Stack } from './stack.ts';
import { modelTuning } from './tuning.ts';
import { blockProjections } from './tunable-projections.ts';

const encoderDecoderFields = {
  encoderLayers: field(integer({ min: 1, max: 96 }), 2),
  decoderLayers: field(integer({ min: 1, max: 96 }), 2),
  /** One token table for encoder and decoder inputs (T5) or one each. */
  shareEmbeddings: field(boolean(), true),
  ...modelFields,
};

export type EncoderDecoderConfig = Omit<Infer<typeof encoderDecoderFields>, 'ropeBase'> & ModelOptions;

const encoderDecoderObject = object(encoderDecoderFields);
const encoderDecoderSchema: Schema<EncoderDecoderConfig> = {
  describe: encoderDecoderObject.describe,
  parse: (value, path) => resolveOptions(encoderDecoderObject.parse(value, path), path, 'rope'),
};

/**
 * The encoder's output for a decoding session, and every decoder block's cross-attention keys and values of it, kept
 * beyond the tape that computed them (the session owns them).
 */
function encodeOnce(backend: Backend, config: EncoderDecoderConfig, source: { tokens: Int32Array; positions: Int32Array }, embed: Parameter, encoder: Stack, decoder: Stack) {
  const e = source.tokens.length;
  const tape = new Tape(backend, false);
  try {
    const ids = (values: Int32Array) => tape.own(backend.fromArray(values, [1, e], 'i32'));
    const segments = ids(new Int32Array(e));
    const encoded = stackForward(tape, ops.embedding(tape, ids(source.tokens), tape.param(embed)), encoder, config, {
      mask: { querySegments: segments, keySegments: segments, prefixEnd: ids(new Int32Array(e).fill(e)) },
      at: { positions: ids(source.positions) },
    });
    const memory = keepBeyondTape(backend, encoded);
    const cross = decoder.blocks.map((block) => {
      const { keys, values } = keysAndValues(tape, encoded, block.cross!.attention, config);
      return { keys: keepBeyondTape(backend, keys), values: keepBeyondTape(backend, values) };
    });
    return { memory, cross };
  } finally {
    tape.release();
  }
}

/** The decoder stack's dropout sites start here, past any encoder's. */
const DECODER_DROPOUT_SITES = 1 << 16;

/**
 * Encoder-decoder transformer (Vaswani et al. 2017; T5, Raffel et al. 2020 §3.2): the encoder reads the batch's
 * encoder inputs with bidirectional attention inside each segment; the decoder reads the (shifted) targets causally
 * and, in every block, cross-attends to the encoder output of its own segment (batch.encoder.crossMask). Each stack
 * has its own positional encoding (T5: a relative-bias table per stack; causal buckets in the decoder); cross-attention
 * has none. Parameters: tok_embeddings (shared) or encoder./decoder.tok_embeddings, encoder.* and decoder.* stacks
 * (decoder blocks add cross_norm, cross_wq..cross_wo), output (untied; tied uses the decoder's table).
 */
export const encoderDecoderArchitecture: ArchitecturePlugin<EncoderDecoderConfig> = {
  kind: 'architecture',
  name: 'encoder-decoder',
  description: 'T5-style encoder-decoder: bidirectional encoder, causal decoder with cross-attention',
  configSchema: encoderDecoderSchema,
  attention: 'bidirectional',
  consumes: { form: 'encoder-decoder', positionDims: 1, masks: ['causal', 'bidirectional'] },
  tunableProjections: (config) => blockProjections(config, true),
  footprint: (config, env) => trainingFootprint('encoder-decoder', config, env),
  rowTrainingFlops: (config, env) => rowTrainingFlops('encoder-decoder', config, env),
  create(config, env: ModelEnvironment): Model {
    const { backend, rng, vocabSize } = env;
    const table = (name: string) => normalParameter(backend, rng, name, [vocabSize, config.dModel], 0.02);
    const encoderEmbed = table(config.shareEmbeddings ? 'tok_embeddings' : 'encoder.tok_embeddings');
    const decoderEmbed = config.shareEmbeddings ? encoderEmbed : table('decoder.tok_embeddings');
    const tuning = modelTuning(env);
    const stack = (side: 'encoder' | 'decoder', layers: number) =>
      createStack(env, config, {
        architecture: 'encoder-decoder',
        prefix: `${side}.`,
        layers,
        attention: side === 'encoder' ? 'bidirectional' : 'causal',
        crossAttention: side === 'decoder',
        dropoutSites: side === 'encoder' ? 0 : DECODER_DROPOUT_SITES,
        tuning,
      });
    const encoder = stack('encoder', config.encoderLayers);
    const decoder = stack('decoder', config.decoderLayers);
    const head: OutputHead = config.tieEmbeddings
      ? { tied: true, table: decoderEmbed }
      : { tied: false, output: normalParameter(backend, rng, 'output', [config.dModel, vocabSize], 0.02) };
    const dropoutSeed = config.dropout > 0 ? rng.nextU32() : 0;
    const embeddings = config.shareEmbeddings ? [encoderEmbed] : [encoderEmbed, decoderEmbed];
    const hidden = (tape: Tape, batch: BatchTensors): Var => {
      const source = batch.encoder;
      if (!source)
        throw new Error('encoder-decoder needs batches with encoder inputs: use an objective in its encoder-decoder form (e.g. span-corruption, prefixlm)');
      const dropout = dropoutContext(tape, config.dropout, batch.tokens, dropoutSeed);
      const memory = stackForward(tape, ops.embedding(tape, source.tokens, tape.param(encoderEmbed)), encoder, config, {
        mask: source.mask,
        at: { positions: source.positions },
        dropout,
      });
      return stackForward(tape, ops.embedding(tape, batch.tokens, tape.param(decoderEmbed)), decoder, config, {
        mask: batch.mask,
        at: { positions: batch.positions },
        cross: { memory, mask: source.crossMask },
        dropout,
      });
    };
    return {
      architecture: 'encoder-decoder',
      config: { ...config },
      params: [...embeddings, ...stackParameters(encoder), ...stackParameters(decoder), ...outputHeadParameters(head)],
      hiddenStates: { width: config.dModel, read: hidden },
      // The encoder runs first (forward order), then each decoder block's self- and cross-attention.
      attentionSites: [...stackAttentionSites(encoder, 'encoder'), ...stackAttentionSites(decoder, 'decoder')],
      forward: (tape: Tape, batch: BatchTensors): Var => logits(tape, hidden(tape, batch), head),
      // The encoder runs once; every decoder block keeps its cross-attention keys and values of the encoder output
      // and its self-attention cache (kv-cache.ts).
      startDecoding(start) {
        if (!canDecode(decoder.encoding)) return null;
        const source = start.encoder;
        if (!source) throw new Error('startDecoding: encoder-decoder needs the encoder input (start.encoder: tokens and positions)');
        const e = source.tokens.length;
        if (e === 0 || source.positions.length !== e)
          throw new RangeError(`startDecoding: the encoder input needs at least one token and a position per token (got ${e} tokens, ${source.positions.length} positions)`);
        checkCapacity(start.capacity);
        const { memory, cross } = encodeOnce(backend, config, source, encoderEmbed, encoder, decoder);
        const slots = allocateLayerSlots(backend, config.decoderLayers, start.capacity, config.kvHeads, config.dModel / config.heads);
        const owned = [...slotTensors(slots), memory.value, ...cross.flatMap((c) => [c.keys.value, c.values.value])];
        return createDecodingSession(backend, start.capacity, owned, (tape, step, slot) => {
          const n = step.tokens.length;
          const ids = (values: Int32Array) => tape.own(backend.fromArray(values, [1, n], 'i32'));
          const crossMask = {
            querySegments: ids(new Int32Array(n)),
            keySegments: tape.own(backend.zeros([1, e], 'i32')),
            prefixEnd: ids(new Int32Array(n).fill(e)),
          };
          const h = stackForward(tape, ops.embedding(tape, ids(step.tokens), tape.param(decoderEmbed)), decoder, config, {
            mask: decodingMask(tape, step, slot, start.capacity),
            at: { positions: ids(step.positions) },
            cross: { memory, mask: crossMask },
            decoding: { slot, capacity: start.capacity, blocks: slots.map((self, l) => ({ self, cross: cross[l] })) },
          });
          return logits(tape, h, head);
        });
      },
    };
  },
};
