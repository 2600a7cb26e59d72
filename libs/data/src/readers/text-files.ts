import { concat, splitLines, type RawLine } from './lines.ts';
import { gunzip, isGzip } from './gunzip.ts';
import { listInputFiles, readFileChunks } from './file-bytes.ts';
import type { ReadItem } from './read-item.ts';

/**
 * How a .txt file becomes documents: the whole file, one document per line, documents separated by blank lines,
 * or documents separated by a line that equals a marker (e.g. "<|endoftext|>").
 */
export type TextSplit = { kind: 'whole' } | { kind: 'line' } | { kind: 'blank-line' } | { kind: 'marker'; marker: string };

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

/** Stream the documents of a file or a directory of files (.txt / .jsonl, each optionally gzipped). */
export async function* readFiles(path: string, options: FileReaderOptions): AsyncGenerator<ReadItem> {
  const extensions = options.format === 'jsonl' ? ['.jsonl', '.jsonl.gz', '.json.gz'] : ['.txt', '.txt.gz'];
  const files = await listInputFiles(path, extensions);
  if (files.length === 0) throw new Error(`input directory ${path} holds no ${extensions.join(' / ')} files`);
  for (const file of files) yield* readFile(file, options);
}

async function* readFile(file: string, options: FileReaderOptions): AsyncGenerator<ReadItem> {
  const problem = (line: number, code: string, message: string): ReadItem => ({ problem: { file, line, code, message } });
  let chunks: AsyncIterable<Uint8Array>;
  try {
    chunks = await sniffed(file);
  } catch (err) {
    yield problem(0, (err as Error).message.startsWith('binary') ? 'binary_file' : 'unreadable', (err as Error).message);
    return;
  }
  let any = false;
  try {
    const lines = splitLines(chunks, options.maxDocumentBytes);
    const docs = options.format === 'jsonl' ? jsonlDocuments(file, lines, options) : textDocuments(file, lines, options);
    for await (const item of docs) {
      any = true;
      yield item;
    }
  } catch (err) {
    yield problem(0, 'unreadable', `unreadable: ${(err as Error).message}`);
    return;
  }
  if (!any) yield problem(0, 'empty_file', 'empty file (no text)');
}

/** Open a file, refuse it if it looks binary, and undo gzip when its magic number says so. */
async function sniffed(file: string): Promise<AsyncIterable<Uint8Array>> {
  const raw = readFileChunks(file);
  const first = await raw.next();
  const head = first.done ? new Uint8Array(0) : first.value;
  const rest = (async function* () {
    if (head.length > 0) yield head;
    yield* raw;
  })();
  if (isGzip(head)) {
    const inflated = gunzip(rest);
    try {
      const firstInflated = await inflated.next();
      const inflatedHead = firstInflated.done ? new Uint8Array(0) : firstInflated.value;
      refuseBinary(inflatedHead);
      return (async function* () {
        if (inflatedHead.length > 0) yield inflatedHead;
        yield* inflated;
      })();
    } catch (err) {
      await inflated.return(undefined);
      throw err;
    }
  }
  try {
    refuseBinary(head);
  } catch (err) {
    await raw.return(undefined);
    throw err;
  }
  return rest;
}

function refuseBinary(head: Uint8Array): void {
  if (head.subarray(0, SNIFF_BYTES).includes(0)) throw new Error('binary file (NUL bytes in its first 8 KiB); skipped');
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
  if (split.kind === 'line') {
    for await (const l of lines) {
      if ('tooLong' in l) yield problem(l.line, 'too_long', `line of ${l.tooLong} bytes exceeds maxDocumentBytes (${options.maxDocumentBytes})`);
      else if (l.bytes.length > 0) {
        const text = decode(l.bytes);
        if (text === null) yield problem(l.line, 'invalid_utf8', 'invalid UTF-8');
        else if (text.trim().length > 0) yield { document: { id: `${file}:${l.line}`, source: options.source, text } };
      }
    }
    return;
  }
  // Whole files, blank-line paragraphs and marker-separated documents gather lines into one document.
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
      if (text.trim().length > 0) yield { document: { id, source: options.source, text } };
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
        ? 'bytes' in l && l.bytes.every((b) => b === 32 || b === 9)
        : split.kind === 'marker'
          ? 'bytes' in l && decode(l.bytes)?.trim() === split.marker
          : false;
    if (isSeparator) {
      yield* flush(l.line + 1);
      continue;
    }
    if (held.length === 0 && heldBytes === 0 && !overflow && badLine === 0) startLine = l.line;
    if ('tooLong' in l || heldBytes + l.bytes.length + 1 > options.maxDocumentBytes) {
      overflow = true;
      held = [];
      continue;
    }
    if (overflow) continue;
    if (badLine === 0 && decode(l.bytes) === null) badLine = l.line;
    held.push(l.bytes);
    heldBytes += l.bytes.length + 1;
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
    if (raw.trim().length === 0) continue;
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
    if (text.trim().length > 0) yield { document: { id, source: options.source, text } };
  }
}
