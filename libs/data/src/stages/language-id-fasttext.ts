import { arrayOf, field, integer, number, object, string, type DataStagePlugin } from '@unilab/core';
import { languageSample, languageSummary, routeByLanguage, type LanguageGuess } from './language-route.ts';

/**
 * Language identification with fastText's lid.176 model (Joulin et al. 2016, "Bag of Tricks for Efficient Text
 * Classification"; the classifier CCNet and FineWeb use), run as WebAssembly by `fasttext.wasm.js`, which ships the
 * compressed lid.176.ftz. The default keep-threshold 0.65 is FineWeb's for English (Penedo et al. 2024, §3.2).
 */
export const fasttextConfigSchema = object({
  languages: field(arrayOf(string({ nonEmpty: true })), [] as string[]),
  minConfidence: field(number({ min: 0, max: 1 }), 0.65),
  maxChars: field(integer({ min: 16 }), 2000),
});
export type FasttextConfig = ReturnType<typeof fasttextConfigSchema.parse>;

interface LidModel {
  load(): Promise<unknown>;
  identify(text: string): Promise<{ alpha2?: string | null; alpha3?: string; possibility: number }>;
}

export async function loadFasttextLid(): Promise<(text: string) => Promise<LanguageGuess>> {
  const { getLIDModel } = (await import('fasttext.wasm.js')) as unknown as { getLIDModel(): Promise<LidModel> };
  const model = await getLIDModel();
  await model.load();
  return async (text) => {
    // fastText classifies one line: newlines would end the input early.
    const r = await model.identify(text.replace(/\s+/g, ' ').trim());
    return { language: r.alpha2 ?? r.alpha3 ?? '', confidence: r.possibility };
  };
}

export const fasttextLanguageStage: DataStagePlugin<FasttextConfig> = {
  kind: 'data-stage',
  name: 'language-id-fasttext',
  description: 'language identification with fastText lid.176 (176 languages, WebAssembly)',
  configSchema: fasttextConfigSchema,
  labels: ['language'],
  async create(config) {
    const identify = await loadFasttextLid();
    const counts = new Map<string, number>();
    return {
      async process(doc) {
        const guess = await identify(languageSample(doc.text, config.maxChars));
        counts.set(guess.language || 'und', (counts.get(guess.language || 'und') ?? 0) + 1);
        return routeByLanguage(doc, guess, config);
      },
      summary: () => languageSummary(counts),
    };
  },
};
