import { field, integer, number, object, type DataStagePlugin } from '@unilab/core';
import { endsWithTerminalPunctuation, nonEmptyLines, words } from '../text/words.ts';
import { duplicates } from './gopher-repetition.ts';

/**
 * FineWeb's own quality rules (Penedo et al. 2024, "The FineWeb Datasets", §3.3.3; thresholds as released in
 * datatrove's FineWebQualityFilter): drop a document when fewer than 12% of its lines end in punctuation, when
 * more than 67% of its lines are 30 characters or shorter, when duplicated lines hold more than 1% of its characters, or when it has more than 0.3 newlines per word (a list, not prose).
 */
export const finewebQualityConfigSchema = object({
  minLinePunctuationRatio: field(number({ min: 0, max: 1 }), 0.12),
  maxShortLineRatio: field(number({ min: 0, max: 1 }), 0.67),
  shortLineLength: field(integer({ min: 1 }), 30),
  maxDuplicateLineCharRatio: field(number({ min: 0, max: 1 }), 0.01),
  maxNewlineRatio: field(number({ min: 0 }), 0.3),
});
export type FinewebQualityConfig = ReturnType<typeof finewebQualityConfigSchema.parse>;

export function finewebQualityReason(text: string, c: FinewebQualityConfig): string | null {
  const ls = nonEmptyLines(text);
  if (ls.length === 0) return 'empty';
  if (ls.filter(endsWithTerminalPunctuation).length / ls.length < c.minLinePunctuationRatio) return 'line_punctuation';
  if (ls.filter((l) => [...l].length <= c.shortLineLength).length / ls.length > c.maxShortLineRatio) return 'short_lines';
  const chars = text.length - (text.match(/\n/g)?.length ?? 0);
  if (duplicates(ls).chars / chars > c.maxDuplicateLineCharRatio) return 'duplicate_line_chars';
  const newlines = text.match(/\n/g)?.length ?? 0;
  if (newlines / Math.max(1, words(text).length) > c.maxNewlineRatio) return 'newline_ratio';
  return null;
}

export const finewebQualityStage: DataStagePlugin<FinewebQualityConfig> = {
  kind: 'data-stage',
  name: 'fineweb-quality',
  description: 'FineWeb rules: line punctuation ratio, short-line ratio, duplicated-line characters, newline ratio',
  configSchema: finewebQualityConfigSchema,
  async create(config) {
    return {
      process(doc) {
        const reason = finewebQualityReason(doc.text, config);
        return reason ? { keep: false, reason } : { keep: true };
      },
    };
  },
};
