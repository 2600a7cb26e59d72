/**
 * Pack token documents into fixed-length sequences, shard by shard. Pure logic: the caller writes the shards. Each
 * document is followed by EOS and may continue into the next sequence (and shard); nothing is dropped or cut inside a
 * token, and `finish` pads the last sequence with PAD.
 */
export interface PackedShard {
  /** sequences × seqLen token ids. */
  tokens: Uint32Array;
  sequences: number;
  /** (document, start, length) triples, in order. */
  segments: Uint32Array;
  documentTokens: number;
}

export class SequencePacker {
  private tokens: Uint32Array;
  private filled = 0;
  private segments: number[] = [];
  private done = false;
  documents = 0;
  documentTokens = 0;
  padTokens = 0;

  constructor(
    readonly seqLen: number,
    readonly sequencesPerShard: number,
    readonly eos: number,
    readonly pad: number,
  ) {
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new Error(`seqLen must be an integer >= 2, got ${seqLen}`);
    if (!Number.isInteger(sequencesPerShard) || sequencesPerShard < 1) throw new Error(`sequencesPerShard must be >= 1, got ${sequencesPerShard}`);
    this.tokens = new Uint32Array(seqLen * sequencesPerShard);
  }

  /** Add a document (without EOS); returns the shards it completed. */
  add(document: number, ids: ArrayLike<number>): PackedShard[] {
    if (this.done) throw new Error('packer already finished');
    const out: PackedShard[] = [];
    const total = ids.length + 1;
    let written = 0;
    while (written < total) {
      const room = this.tokens.length - this.filled;
      const take = Math.min(room, total - written);
      const start = this.filled;
      for (let k = 0; k < take; k++) {
        const at = written + k;
        this.tokens[this.filled++] = at < ids.length ? ids[at] : this.eos;
      }
      this.segments.push(document, start, take);
      written += take;
      if (this.filled === this.tokens.length) out.push(this.cut(this.tokens.length));
    }
    this.documents++;
    this.documentTokens += total;
    return out;
  }

  /** Pad the last sequence and return the last, partial shard (if any tokens are pending). */
  finish(): PackedShard | null {
    this.done = true;
    if (this.filled === 0) return null;
    const end = Math.ceil(this.filled / this.seqLen) * this.seqLen;
    this.padTokens += end - this.filled;
    this.tokens.fill(this.pad, this.filled, end);
    return this.cut(end);
  }

  private cut(length: number): PackedShard {
    const segments = Uint32Array.from(this.segments);
    let documentTokens = 0;
    for (let i = 2; i < segments.length; i += 3) documentTokens += segments[i];
    const shard = { tokens: this.tokens.slice(0, length), sequences: length / this.seqLen, segments, documentTokens };
    this.tokens = new Uint32Array(this.seqLen * this.sequencesPerShard);
    this.filled = 0;
    this.segments = [];
    return shard;
  }
}

/** Per-position document ids of a shard's tokens (-1 for PAD): the segment ids an attention mask needs. */
export function positionDocumentIds(tokenCount: number, segments: Uint32Array): Int32Array {
  const ids = new Int32Array(tokenCount).fill(-1);
  for (let i = 0; i < segments.length; i += 3) ids.fill(segments[i], segments[i + 1], segments[i + 1] + segments[i + 2]);
  return ids;
}
