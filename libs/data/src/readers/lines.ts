/** One line of a byte stream, without its terminator ("\n", "\r\n" or a lone "\r"). */
export type RawLine =
  | { line: number; bytes: Uint8Array }
  /** A line longer than the cap: its bytes were skipped, never held in memory. */
  | { line: number; tooLong: number };

const LF = 10;
const CR = 13;

/**
 * Split a byte stream into lines, holding at most `maxLineBytes` of one line at a time: a 100 MB single line is
 * counted and skipped while it streams past. "\n", "\r\n" and a lone "\r" (old Mac OS text) each end a line, as
 * Unicode's line-breaking rules treat them (UAX #14, BK/CR/LF); a "\r" at the end of one chunk and a "\n" at the
 * start of the next are one break. Line numbers are 1-based.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<RawLine> {
  let parts: Uint8Array[] = [];
  let held = 0;
  let skipped = 0;
  let line = 1;
  /** The previous chunk ended in "\r": a "\n" that starts this one belongs to the same break. */
  let pendingCR = false;
  const finish = (): RawLine => {
    const out: RawLine = skipped > 0 ? { line, tooLong: skipped + held } : { line, bytes: parts.length === 1 ? parts[0] : concat(parts, held) };
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
    if (chunk.length === 0) continue;
    sawAny = true;
    let start = pendingCR && chunk[0] === LF ? 1 : 0;
    pendingCR = false;
    // The next "\n" and "\r" at or after start, each found by one native scan and kept until passed.
    let lf = -2;
    let cr = -2;
    for (;;) {
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) {
        take(chunk.subarray(start));
        break;
      }
      take(chunk.subarray(start, end));
      yield finish();
      if (chunk[end] === CR) {
        if (end + 1 === chunk.length) pendingCR = true;
        else if (chunk[end + 1] === LF) start = end + 2;
        else start = end + 1;
        if (pendingCR) break;
      } else start = end + 1;
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
