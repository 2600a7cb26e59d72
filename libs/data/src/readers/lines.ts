/** One line of a byte stream, without its terminator ("\n" or "\r\n"). */
export type RawLine =
  | { line: number; bytes: Uint8Array }
  /** A line longer than the cap: its bytes were skipped, never held in memory. */
  | { line: number; tooLong: number };

/**
 * Split a byte stream into lines, holding at most `maxLineBytes` of one line at a time: a 100 MB single line is
 * counted and skipped while it streams past. Line numbers are 1-based.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<RawLine> {
  let parts: Uint8Array[] = [];
  let held = 0;
  let skipped = 0;
  let line = 1;
  const finish = (): RawLine => {
    let out: RawLine;
    if (skipped > 0) out = { line, tooLong: skipped + held };
    else {
      let bytes = parts.length === 1 ? parts[0] : concat(parts, held);
      if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
      out = { line, bytes };
    }
    parts = [];
    held = 0;
    skipped = 0;
    line++;
    return out;
  };
  const take = (piece: Uint8Array) => {
    if (skipped > 0 || held + piece.length > maxLineBytes) {
      skipped += held + piece.length;
      parts = [];
      held = 0;
      return;
    }
    if (piece.length > 0) {
      parts.push(piece);
      held += piece.length;
    }
  };
  let sawAny = false;
  for await (const chunk of chunks) {
    sawAny = sawAny || chunk.length > 0;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        take(chunk.subarray(start));
        break;
      }
      take(chunk.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
  }
  if (sawAny && (held > 0 || skipped > 0)) yield finish();
}

export function concat(parts: readonly Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
