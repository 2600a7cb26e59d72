import type { Backend } from '../backend/backend.ts';
import type { Tensor } from '../backend/tensor.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { AdamW } from '../optim/adamw.ts';
import { crc32 } from './crc32.ts';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.ts';

export const CHECKPOINT_FORMAT = 'unilab.checkpoint.v1';

/**
 * Everything besides tensors that a bit-identical resume needs: step, RNG and data-cursor state, and what is
 * needed to rebuild the model and tokenizer (spec, model config, tokenizer description). Plain JSON.
 */
export interface CheckpointState {
  step: number;
  [key: string]: unknown;
}

/**
 * Serialise parameters, AdamW moments and state into safetensors bytes. Tensors are named `param/<name>`,
 * `adam_m/<name>`, `adam_v/<name>`; the header's metadata holds the format tag, the state JSON and a CRC-32 of the
 * tensor data, so a file changed after writing is refused. The optimizer may hold a subset of `params` (fine-tuning
 * trains LoRA factors of a frozen network): moments are written for the parameters it holds.
 */
export async function encodeCheckpoint(
  backend: Backend,
  params: readonly Parameter[],
  optimizer: AdamW | null,
  state: CheckpointState,
): Promise<Uint8Array> {
  const tensors: NamedTensor[] = [];
  const slots = optimizerSlots(optimizer);
  for (const p of params) {
    tensors.push({ name: `param/${p.name}`, shape: p.value.shape, data: await backend.read(p.value) });
    const i = slots.get(p.value);
    if (optimizer && i !== undefined) {
      tensors.push({ name: `adam_m/${p.name}`, shape: p.value.shape, data: await backend.read(optimizer.m[i]) });
      tensors.push({ name: `adam_v/${p.name}`, shape: p.value.shape, data: await backend.read(optimizer.v[i]) });
    }
  }
  let crc = 0;
  for (const t of tensors) crc = crc32(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), crc);
  const metadata = {
    format: CHECKPOINT_FORMAT,
    state: JSON.stringify({ ...state, adamStep: optimizer?.stepCount ?? 0 }),
    crc32: String(crc),
  };
  return encodeSafetensors(tensors, metadata);
}

export interface DecodedCheckpoint {
  state: CheckpointState & { adamStep: number };
  tensors: Map<string, NamedTensor>;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== CHECKPOINT_FORMAT)
    throw new CheckpointFormatError(
      `${source} is a safetensors file but not a unilab checkpoint (format ${JSON.stringify(metadata.format ?? null)}, expected ${CHECKPOINT_FORMAT})`,
    );
  let crc = 0;
  for (const t of tensors.values()) crc = crc32(new Uint8Array(t.data.buffer), crc);
  if (String(crc) !== metadata.crc32)
    throw new CheckpointFormatError(`${source} is corrupt: its tensor data does not match the checksum written with it`);
  return { state: JSON.parse(metadata.state), tensors };
}

/**
 * The index of each updated parameter's moments, by the parameter's value tensor: a caller may pass the optimizer's
 * parameters under other names (PPO writes `policy/...` and `value/...` copies of two same-named networks).
 */
function optimizerSlots(optimizer: AdamW | null): Map<Tensor, number> {
  return new Map(optimizer?.params.map((p, i) => [p.value, i]) ?? []);
}

/**
 * Load parameters (and, when given, AdamW moments of the parameters the optimizer holds) from a decoded checkpoint,
 * checking names and shapes.
 */
export function restoreTensors(backend: Backend, checkpoint: DecodedCheckpoint, params: readonly Parameter[], optimizer: AdamW | null, source = 'checkpoint'): void {
  const take = (name: string, shape: readonly number[]) => {
    const t = checkpoint.tensors.get(name);
    if (!t) throw new CheckpointFormatError(`${source} has no tensor ${name}: it was written by a different model`);
    if (t.shape.join(',') !== shape.join(','))
      throw new CheckpointFormatError(`${source}: tensor ${name} has shape [${t.shape}], the model expects [${shape}]`);
    return t.data;
  };
  const slots = optimizerSlots(optimizer);
  for (const p of params) {
    backend.write(p.value, take(`param/${p.name}`, p.value.shape));
    const i = slots.get(p.value);
    if (optimizer && i !== undefined) {
      backend.write(optimizer.m[i], take(`adam_m/${p.name}`, p.value.shape));
      backend.write(optimizer.v[i], take(`adam_v/${p.name}`, p.value.shape));
    }
  }
  if (optimizer) optimizer.stepCount = checkpoint.state.adamStep;
}
