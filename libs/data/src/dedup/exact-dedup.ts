import { boolean, field, object, type DataStagePlugin } from '@unilab/core';
import { hashString53 } from './hash32.ts';

/**
 * Exact deduplication: a document is dropped when its normalised text (lower case, whitespace runs collapsed,
 * trimmed) hashes like one seen before. A 53-bit key keeps accidental collisions below one in a billion documents.
 */
export const exactDedupConfigSchema = object({
  lowercase: field(boolean(), true),
});
export type ExactDedupConfig = ReturnType<typeof exactDedupConfigSchema.parse>;

export function normalizeForExactMatch(text: string, lowercase: boolean): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return lowercase ? t.toLowerCase() : t;
}

export const exactDedupStage: DataStagePlugin<ExactDedupConfig> = {
  kind: 'data-stage',
  name: 'exact-dedup',
  description: 'drop documents whose normalised text was seen before',
  configSchema: exactDedupConfigSchema,
  async create(config) {
    const seen = new Set<number>();
    return {
      process(doc) {
        const key = hashString53(normalizeForExactMatch(doc.text, config.lowercase));
        if (seen.has(key)) return { keep: false, reason: 'exact_duplicate' };
        seen.add(key);
        return { keep: true };
      },
      summary: () => ({ distinct: seen.size }),
    };
  },
};
