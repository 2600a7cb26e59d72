import type { Tokenizer } from '@unilab/core';

/**
 * Byte-level tokenizer: ids 0..255 are the UTF-8 bytes, special tokens follow from 256 in declaration order
 * ("eos", "pad", then what the objective asks for). Any text round-trips exactly; there is no unknown token.
 * A stand-in until the BPE tokenizer of the data pipeline.
 */
export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte';
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  private readonly specialNames: string[];

  constructor(extraSpecials: readonly string[] = []) {
    this.specialNames = ['eos', 'pad', ...extraSpecials.filter((s) => s !== 'eos' && s !== 'pad')];
    this.specialTokens = Object.fromEntries(this.specialNames.map((name, i) => [name, 256 + i]));
    this.vocabSize = 256 + this.specialNames.length;
  }

  encode(text: string): Int32Array {
    return Int32Array.from(new TextEncoder().encode(text));
  }

  /** Bytes decode as UTF-8 (a cut multi-byte character becomes U+FFFD); special tokens render as <name>. */
  decode(ids: ArrayLike<number>): string {
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      out += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 256) bytes.push(id);
      else {
        flush();
        out += `<${this.specialNames[id - 256] ?? `special_${id}`}>`;
      }
    }
    flush();
    return out;
  }

  toJSON(): Record<string, unknown> {
    return { kind: 'byte', specials: this.specialNames };
  }

  static fromJSON(json: Record<string, unknown>): ByteTokenizer {
    if (json.kind !== 'byte' || !Array.isArray(json.specials))
      throw new Error(`not a byte tokenizer description: ${JSON.stringify(json).slice(0, 80)}`);
    return new ByteTokenizer((json.specials as string[]).slice(2));
  }
}
