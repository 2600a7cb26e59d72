import { PAD_SEGMENT, Rng, type Batch, type DocumentStream } from '@unilab/core';
import { byteContext } from '@unilab/plugins-objective';
import { numberOption, parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE =
  'usage: unilab preview <objective> --text "..." [--seed 1] [--arch decoder|encoder-decoder|...] [--config \'{"preset":"glm-10b"}\']';

/**
 * `unilab preview <objective> --text "..."`: shows what the model sees and what it must predict for one real
 * sentence, in the byte-level token view (bytes 0..255, then eos, pad and the objective's special tokens).
 */
export async function previewCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const name = args.positionals[0];
  const registry = await registryFromArgs(args);
  const objectives = registry.names('objective');
  if (!name) throw new Error(`${USAGE}\nobjectives: ${objectives.join(', ')}`);
  if (!objectives.includes(name)) throw new Error(`unknown objective "${name}"; choose one of ${objectives.join(', ')}`);
  const plugin = registry.objective(name);
  const text = args.options.get('text');
  if (typeof text !== 'string' || text.length === 0) throw new Error(`--text is required\n${USAGE}`);
  const seed = numberOption(args, 'seed', 1);
  const arch = args.options.get('arch');
  const paired = registry.pairedArchitectures(plugin);
  const architecture = typeof arch === 'string' ? arch : paired.includes('decoder') ? 'decoder' : paired[0];
  if (!paired.includes(architecture)) throw new Error(`--arch: ${name} trains ${paired.join(', ')}, not "${architecture}"`);
  const configText = args.options.get('config');
  let rawConfig: unknown = {};
  if (typeof configText === 'string') {
    try {
      rawConfig = JSON.parse(configText);
    } catch {
      throw new Error(`--config: expected a JSON object, got ${configText}`);
    }
  }
  const config = plugin.configSchema.parse(rawConfig, 'config');

  const tokens = Int32Array.from(new TextEncoder().encode(text));
  // Room for the whole text in one example, whatever the objective adds (sentinels, [sop], eos, mode tokens).
  const seqLen = 2 * tokens.length + 16;
  const context = byteContext(plugin.specialTokens, { batchSize: 1, seqLen, encoderLen: seqLen, form: registry.architecture(architecture).consumes.form });
  const batch = plugin.createBatcher(config, context, repeatingText(tokens), new Rng(seed)).next();
  const names = new Map(Object.entries(context.specialTokens).map(([n, id]) => [id, n]));
  console.log(renderFirstExample(batch, names, `${name} · ${architecture} · seed ${seed}`));
  return 0;
}

/** The text as an endless stream of one document. */
function repeatingText(tokens: Int32Array): DocumentStream {
  let index = 0;
  return {
    next() {
      index++;
      return { tokens };
    },
    cursor: () => index,
    seek(cursor) {
      index = cursor as number;
    },
  };
}

/** Renders ids in the byte-level view: runs of bytes as UTF-8 text, special tokens as [name]. */
export function renderTokens(ids: readonly number[], names: ReadonlyMap<number, string>): string {
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    out += new TextDecoder().decode(Uint8Array.from(bytes)).replace(/\n/g, '⏎');
    bytes = [];
  };
  for (const id of ids) {
    if (id < 256) bytes.push(id);
    else {
      flush();
      out += `[${names.get(id) ?? id}]`;
    }
  }
  flush();
  return out;
}

/** Bytes a UTF-8 character takes, from its lead byte (1 for ASCII and for stray continuation bytes). */
function utf8Width(lead: number): number {
  return lead >= 0xf0 && lead < 0xf8 ? 4 : lead >= 0xe0 ? (lead < 0xf0 ? 3 : 1) : lead >= 0xc0 ? 2 : 1;
}

/**
 * Two aligned lines: the tokens the model sees and, under each, the token it predicts there (· where the loss is
 * off). A multi-byte character is one cell; `boundary` puts a │ before that position (the end of the prefix).
 */
function alignedRows(seen: readonly number[], targets: readonly number[], loss: ArrayLike<number>, names: ReadonlyMap<number, string>, boundary: number): [string, string] {
  let top = '';
  let bottom = '';
  for (let t = 0; t < seen.length; ) {
    let width = seen[t] < 256 ? utf8Width(seen[t]) : 1;
    if (t + width > seen.length || seen.slice(t + 1, t + width).some((id) => id < 0x80 || id > 0xbf)) width = 1;
    if (t < boundary && t + width > boundary) width = boundary - t;
    if (t === boundary && t > 0) {
      top += '│';
      bottom += '│';
    }
    const cellSeen = renderTokens(seen.slice(t, t + width), names);
    let cellPredicted = '';
    // A predicted space is drawn as ␣ so that it is not mistaken for a gap in the alignment.
    for (let k = t; k < t + width; k++) cellPredicted += loss[k] ? renderTokens([targets[k]], names).replace(/ /g, '␣') : '·';
    const cell = Math.max(cellSeen.length, cellPredicted.length);
    top += cellSeen.padEnd(cell);
    bottom += cellPredicted.padEnd(cell);
    t += width;
  }
  return [top.trimEnd(), bottom.trimEnd()];
}

/**
 * The first packed example of row 0: what the model sees and, aligned under it, what it predicts. For decoder-only
 * batches a │ marks the end of the bidirectional prefix (prefixEnd); encoder-decoder batches show the encoder's
 * input on its own line. GLM's 2D positions follow when the batch has them.
 */
function renderFirstExample(batch: Batch, names: ReadonlyMap<number, string>, title: string): string {
  const segment = batch.segmentIds[0];
  let length = 0;
  while (length < batch.seqLen && batch.segmentIds[length] === segment && segment !== PAD_SEGMENT) length++;
  const seen = Array.from(batch.tokens.subarray(0, length));
  const targets = Array.from(batch.targets.subarray(0, length));
  const prefix = Math.min(batch.prefixEnd[0], length);
  const lines = [title];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(16)}${value}`);
  if (batch.encoder) {
    const encoder: number[] = [];
    for (let t = 0; t < batch.encoder.encoderLen && batch.encoder.segmentIds[t] === segment; t++) encoder.push(batch.encoder.tokens[t]);
    row('encoder sees', renderTokens(encoder, names));
  }
  const [top, bottom] = alignedRows(seen, targets, batch.lossMask, names, prefix < length ? prefix : 0);
  row(batch.encoder ? 'decoder sees' : 'sees', top);
  row('predicts', bottom);
  const mask = prefix === 0 ? 'causal' : prefix >= length ? 'bidirectional' : `bidirectional before │ (prefixEnd ${prefix}), causal after`;
  row('attention', batch.encoder ? 'encoder bidirectional; decoder causal, cross-attends to its encoder example' : mask);
  if (batch.blockPositions) {
    row('position', Array.from(batch.positions.subarray(0, length)).join(' '));
    row('block position', Array.from(batch.blockPositions.subarray(0, length)).join(' '));
  }
  return lines.join('\n');
}
