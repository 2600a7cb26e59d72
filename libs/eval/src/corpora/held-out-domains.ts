import { fnv1a, readBrown, readCorpus, readSotu, readUdhr, splitHeldOut, type TextDocument } from '@unilab/data';
import type { TrainingSpec } from '@unilab/runner';
import { brownGenre } from './brown-genres.ts';

/** Text of one domain to measure a model on, and why it can count as unseen. */
export interface EvalDomain {
  /** "sotu", "brown/news", "udhr/eng", ... */
  name: string;
  documents: TextDocument[];
  /** How the documents were chosen and whether the model can have trained on them. */
  provenance: string;
}

export interface DomainOptions {
  /** State of the Union documents (default 8). */
  sotuDocuments?: number;
  /** Brown documents per genre (default 4). */
  brownDocumentsPerGenre?: number;
  /** UDHR translations by the package's code (default: eng, deu_1996, fra, spa, fin, pol, rus, cmn_hans). */
  udhrLanguages?: readonly string[];
  /** UDHR pieces per language (default 4): consecutive articles of about `bytesPerDocument` bytes each. */
  udhrPieces?: number;
  /** Each document is cut to its first this many UTF-8 bytes (default 1024). */
  bytesPerDocument?: number;
}

export const DEFAULT_UDHR_LANGUAGES: readonly string[] = ['eng', 'deu_1996', 'fra', 'spa', 'fin', 'pol', 'rus', 'cmn_hans'];

/**
 * The held-out text of the bits-per-byte table: State of the Union, Brown per genre, UDHR per language. A document
 * the checkpoint's spec trained on is never used: for the spec's corpus, the trainer's own split (splitHeldOut with
 * its heldOutFraction) decides, and any candidate whose text equals a training document's is dropped (this also
 * covers a corpus of .txt files that copies SOTU). A model trained on a prepared dataset (data.shards) is not
 * checked, and its provenance says so. Documents are picked in a stable pseudo-random order (FNV-1a of the id).
 */
export async function heldOutDomains(spec: TrainingSpec, options: DomainOptions = {}): Promise<EvalDomain[]> {
  const sotuCount = options.sotuDocuments ?? 8;
  const perGenre = options.brownDocumentsPerGenre ?? 4;
  const bytes = options.bytesPerDocument ?? 1024;
  const udhrPieces = options.udhrPieces ?? 4;
  const languages = options.udhrLanguages ?? DEFAULT_UDHR_LANGUAGES;
  for (const [name, value] of Object.entries({ sotuDocuments: sotuCount, brownDocumentsPerGenre: perGenre, udhrPieces, bytesPerDocument: bytes }))
    if (!Number.isInteger(value) || value < 0) throw new Error(`heldOutDomains: ${name} must be an integer >= 0, got ${value}`);
  const seen = await trainingTexts(spec);
  const unseen = (docs: TextDocument[]) => (seen ? docs.filter((d) => !seen.texts.has(d.text.trim())) : docs);
  const cut = (docs: TextDocument[], n: number) => stableSample(docs, n).map((d) => ({ id: d.id, text: utf8Prefix(d.text, bytes) }));
  const check = seen ? `not among the ${seen.count} training documents of spec.data (${spec.data.corpus})` : `not checked: the model trained on a prepared dataset (${spec.data.shards})`;

  const domains: EvalDomain[] = [];
  const sotu = unseen(await readSotu());
  domains.push({ name: 'sotu', documents: cut(sotu, sotuCount), provenance: `${Math.min(sotuCount, sotu.length)} of ${sotu.length} SOTU addresses ${check}` });
  const brown = unseen(await readBrown());
  const byGenre = new Map<string, TextDocument[]>();
  for (const d of brown) byGenre.set(brownGenre(d.id), [...(byGenre.get(brownGenre(d.id)) ?? []), d]);
  for (const [genre, docs] of [...byGenre].sort(([a], [b]) => a.localeCompare(b)))
    domains.push({ name: `brown/${genre}`, documents: cut(docs, perGenre), provenance: `${Math.min(perGenre, docs.length)} of ${docs.length} Brown ${genre} documents ${check}` });
  for (const code of languages) {
    const udhr = await readUdhr(code);
    const pieces = unseen(udhrPiecesOf(udhr.code, udhr.paragraphs, bytes)).slice(0, udhrPieces);
    domains.push({ name: `udhr/${code}`, documents: pieces, provenance: `first ${pieces.length} pieces of ~${bytes} bytes of the UDHR in ${udhr.name} ${check}` });
  }
  return domains.filter((d) => d.documents.length > 0);
}

/** The texts of a spec's training split, or null when the spec trains on a prepared dataset. */
async function trainingTexts(spec: TrainingSpec): Promise<{ texts: Set<string>; count: number } | null> {
  if (spec.data.shards) return null;
  const docs = (await readCorpus(spec.data.corpus)).filter((d) => d.text.trim().length > 0);
  const { train } = splitHeldOut(docs, spec.data.heldOutFraction);
  return { texts: new Set(train.map((d) => d.text.trim())), count: train.length };
}

/** Consecutive paragraphs joined until a piece reaches `bytes` UTF-8 bytes: a unit of the per-document bootstrap. */
function udhrPiecesOf(code: string, paragraphs: readonly string[], bytes: number): TextDocument[] {
  const pieces: TextDocument[] = [];
  let current: string[] = [];
  let size = 0;
  for (const p of paragraphs) {
    current.push(p);
    size += utf8Length(p) + 1;
    if (size >= bytes) {
      pieces.push({ id: `udhr/${code}#${pieces.length}`, text: current.join('\n') });
      current = [];
      size = 0;
    }
  }
  if (current.length > 0) pieces.push({ id: `udhr/${code}#${pieces.length}`, text: current.join('\n') });
  return pieces.map((d) => ({ ...d, text: utf8Prefix(d.text, bytes) }));
}

/** `n` documents in the order of FNV-1a of their ids: stable across runs and corpus growth. */
function stableSample(docs: readonly TextDocument[], n: number): TextDocument[] {
  return [...docs].sort((a, b) => fnv1a(a.id) - fnv1a(b.id) || a.id.localeCompare(b.id)).slice(0, n);
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends on a whole character. */
export function utf8Prefix(text: string, bytes: number): string {
  const encoded = new TextEncoder().encode(text);
  if (encoded.length <= bytes) return text;
  let end = bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that would be cut.
  while (end > 0 && (encoded[end] & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(encoded.subarray(0, end));
}
