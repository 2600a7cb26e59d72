import { concat, splitLines, type RawLine } from './lines.ts';
import { gunzip, isGzip } from './gunzip.ts';
import { readFileChunks } from './file-bytes.ts';
import { rootFiles, stillInside } from './input-root.ts';
import type { ReadItem } from './read-item.ts';
import { isBlankText } from '../text/blank-text.ts';

/**
 * How a .txt file becomes documents: the whole file, one document per line, documents separated by blank lines,
 * documents separated by a line that equals a marker (e.g. "<|endoftext|>"), or consecutive pieces of about `bytes`
 * each, cut at line breaks (a one-file training corpus, so that some of it can be held out).
 */
export type TextSplit =
  | { kind: 'whole' }
  | { kind: 'line' }
  | { kind: 'blank-line' }
  | { kind: 'marker'; marker: string }
  | { kind: 'pieces'; bytes: number };

export interface FileReaderOptions {
  /** The pipeline source name the documents belong to. */
  source: string;
  format: 'txt' | 'jsonl';
  split?: TextSplit;
  /** JSONL: the field that holds the text. */
  textField?: string;
  /** A document (or JSONL line) longer than this is reported and skipped without being held whole. */
  maxDocumentBytes: number;
}

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Bytes sniffed at the start of a file: a NUL among them marks a binary file (as git and grep decide). */
const SNIFF_BYTES = 8192;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Stream the documents of a file or a directory of files (.txt / .jsonl, each optionally gzipped). Every problem is
 * yielded with its file and line, never thrown: a symbolic link that leads out of the directory (or loops), a binary
 * or UTF-16 file, invalid UTF-8, an over-long document, a truncated gzip stream, an empty or blank record.
 */
export async function* readFiles(path: string, options: FileReaderOptions): AsyncGenerator<ReadItem> {
  const extensions = options.format === 'jsonl' ? ['.jsonl', '.jsonl.gz', '.json.gz'] : ['.txt', '.txt.gz'];
  let listed = 0;
  for await (const entry of rootFiles(path, extensions)) {
    listed++;
    if ('refused' in entry) yield { problem: { file: entry.refused, line: 0, code: entry.refusal.code, message: entry.refusal.message } };
    else yield* readFile(entry.file, entry.real, entry.root, options);
  }
  if (listed === 0) throw new Error(`input directory ${path} holds no ${extensions.join(' / ')} files`);
}

async function* readFile(file: string, real: string, root: string, options: FileReaderOptions): AsyncGenerator<ReadItem> {
  const problem = (line: number, code: string, message: string): ReadItem => ({ problem: { file, line, code, message } });
  const checked = await stillInside(root, real);
  if ('refusal' in checked) {
    yield problem(0, checked.refusal.code, checked.refusal.message);
    return;
  }
  let opened: { chunks: AsyncIterable<Uint8Array>; gzip: boolean };
  try {
    opened = await sniffed(checked.real);
  } catch (err) {
    const e = err as Error & { code?: string };
    yield problem(0, e.code === 'binary_file' || e.code === 'utf16_file' ? e.code : 'unreadable', e.message);
    return;
  }
  let records = 0;
  let any = false;
  try {
    const lines = splitLines(opened.chunks, options.maxDocumentBytes);
    const docs = options.format === 'jsonl' ? jsonlDocuments(file, lines, options) : textDocuments(file, lines, options);
    for await (const item of docs) {
      any = true;
      if ('document' in item) records++;
      yield item;
    }
  } catch (err) {
    if (opened.gzip)
      yield problem(0, 'truncated_gzip', `gzip stream is truncated or corrupt (${(err as Error).message}); kept the ${records} record(s) read before the damage`);
    else yield problem(0, 'unreadable', `unreadable: ${(err as Error).message}`);
    return;
  }
  if (!any) yield problem(0, 'empty_file', 'empty file (no text)');
}

/**
 * Open a file, undo gzip when its magic number says so, refuse it if it looks binary or is UTF-16 (this reader takes
 * UTF-8), and strip a UTF-8 byte-order mark.
 */
async function sniffed(real: string): Promise<{ chunks: AsyncIterable<Uint8Array>; gzip: boolean }> {
  const raw = readFileChunks(real);
  const first = await raw.next();
  const head = first.done ? new Uint8Array(0) : first.value;
  const rest = (async function* () {
    if (head.length > 0) yield head;
    yield* raw;
  })();
  const gzip = isGzip(head);
  const bytes = gzip ? gunzip(rest) : rest;
  try {
    const firstBytes = await bytes.next();
    const start = firstBytes.done ? new Uint8Array(0) : firstBytes.value;
    refuseNonUtf8(start);
    const body = startsWith(start, UTF8_BOM) ? start.subarray(UTF8_BOM.length) : start;
    return {
      gzip,
      chunks: (async function* () {
        if (body.length > 0) yield body;
        yield* bytes;
      })(),
    };
  } catch (err) {
    await bytes.return(undefined);
    await raw.return(undefined);
    throw err;
  }
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * UTF-16 shows as a byte-order mark (FF FE or FE FF) or, without one, as NULs in every other byte of ASCII-range text;
 * any other NUL marks a binary file.
 */
function refuseNonUtf8(head: Uint8Array): void {
  const sniff = head.subarray(0, SNIFF_BYTES);
  const fail = (code: string, message: string) => Object.assign(new Error(message), { code });
  if (startsWith(sniff, [0xff, 0xfe]) || startsWith(sniff, [0xfe, 0xff]))
    throw fail('utf16_file', 'UTF-16 text (it starts with a UTF-16 byte-order mark); convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)');
  if (!sniff.includes(0)) return;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < sniff.length; i++) if (sniff[i] === 0) (i % 2 === 0 ? evenNul++ : oddNul++);
  const half = sniff.length / 2;
  if (sniff.length >= 16 && Math.max(evenNul, oddNul) > 0.3 * half && Math.min(evenNul, oddNul) < 0.05 * half)
    throw fail('utf16_file', `UTF-16${oddNul > evenNul ? 'LE' : 'BE'} text without a byte-order mark (NUL in every other byte); convert it to UTF-8`);
  throw fail('binary_file', 'binary file (NUL bytes in its first 8 KiB); skipped');
}

function decode(bytes: Uint8Array): string | null {
  try {
    return FATAL_UTF8.decode(bytes);
  } catch {
    return null;
  }
}

async function* textDocuments(file: string, lines: AsyncIterable<RawLine>, options: FileReaderOptions): AsyncGenerator<ReadItem> {
  const split = options.split ?? { kind: 'whole' };
  const problem = (line: number, code: string, message: string): ReadItem => ({ problem: { file, line, code, message } });
  const blank = (line: number) => problem(line, 'blank_document', 'empty or white-space-only document; dropped');
  if (split.kind === 'line') {
    for await (const l of lines) {
      if ('tooLong' in l) yield problem(l.line, 'too_long', `line of ${l.tooLong} bytes exceeds maxDocumentBytes (${options.maxDocumentBytes})`);
      else {
        const text = decode(l.bytes);
        if (text === null) yield problem(l.line, 'invalid_utf8', 'invalid UTF-8');
        else if (isBlankText(text)) yield blank(l.line);
        else yield { document: { id: `${file}:${l.line}`, source: options.source, text } };
      }
    }
    return;
  }
  // Whole files, blank-line paragraphs, marker-separated documents and pieces gather lines into one document.
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let startLine = 1;
  let overflow = false;
  let badLine = 0;
  function* flush(nextLine: number): Generator<ReadItem> {
    const id = split.kind === 'whole' ? file : `${file}:${startLine}`;
    if (overflow) yield problem(startLine, 'too_long', `document of more than ${options.maxDocumentBytes} bytes exceeds maxDocumentBytes; skipped`);
    else if (badLine > 0) yield problem(badLine, 'invalid_utf8', 'invalid UTF-8');
    else if (held.length > 0) {
      const text = FATAL_UTF8.decode(joinLines(held, heldBytes));
      yield isBlankText(text) ? blank(startLine) : { document: { id, source: options.source, text } };
    }
    held = [];
    heldBytes = 0;
    overflow = false;
    badLine = 0;
    startLine = nextLine;
  }
  for await (const l of lines) {
    const isSeparator =
      split.kind === 'blank-line'
        ? 'bytes' in l && isBlankText(decode(l.bytes) ?? 'x')
        : split.kind === 'marker'
          ? 'bytes' in l && decode(l.bytes)?.trim() === split.marker
          : false;
    if (isSeparator) {
      yield* flush(l.line + 1);
      continue;
    }
    const tooLong = 'tooLong' in l || heldBytes + l.bytes.length + 1 > options.maxDocumentBytes;
    // A piece ends before a line that would overflow it, so an over-long line costs only itself.
    if (split.kind === 'pieces' && tooLong && held.length > 0) yield* flush(l.line);
    if (held.length === 0 && heldBytes === 0 && !overflow && badLine === 0) startLine = l.line;
    if ('tooLong' in l || heldBytes + l.bytes.length + 1 > options.maxDocumentBytes) {
      overflow = true;
      held = [];
      if (split.kind === 'pieces') yield* flush(l.line + 1);
      continue;
    }
    if (overflow) continue;
    if (badLine === 0 && decode(l.bytes) === null) badLine = l.line;
    held.push(l.bytes);
    heldBytes += l.bytes.length + 1;
    if (split.kind === 'pieces' && heldBytes >= split.bytes) yield* flush(l.line + 1);
  }
  yield* flush(0);
}

function joinLines(lines: readonly Uint8Array[], total: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const newline = Uint8Array.of(10);
  lines.forEach((l, i) => {
    if (i > 0) parts.push(newline);
    parts.push(l);
  });
  return concat(parts, Math.max(0, total - 1));
}

async function* jsonlDocuments(file: string, lines: AsyncIterable<RawLine>, options: FileReaderOptions): AsyncGenerator<ReadItem> {
  const field = options.textField ?? 'text';
  const problem = (line: number, code: string, message: string): ReadItem => ({ problem: { file, line, code, message } });
  for await (const l of lines) {
    if ('tooLong' in l) {
      yield problem(l.line, 'too_long', `line of ${l.tooLong} bytes exceeds maxDocumentBytes (${options.maxDocumentBytes})`);
      continue;
    }
    const raw = decode(l.bytes);
    if (raw === null) {
      yield problem(l.line, 'invalid_utf8', 'invalid UTF-8');
      continue;
    }
    if (isBlankText(raw)) {
      yield problem(l.line, 'blank_line', 'empty or white-space-only line; dropped');
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      yield problem(l.line, 'malformed_json', `malformed JSON: ${(err as Error).message}`);
      continue;
    }
    const text = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
    if (typeof text !== 'string') {
      yield problem(l.line, 'missing_text_field', `no string field "${field}"`);
      continue;
    }
    const id = typeof (value as Record<string, unknown>).id === 'string' ? `${file}#${(value as { id: string }).id}` : `${file}:${l.line}`;
    yield isBlankText(text) ? problem(l.line, 'blank_document', `empty or white-space-only "${field}"; dropped`) : { document: { id, source: options.source, text } };
  }
}
