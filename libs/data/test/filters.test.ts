import { describe, expect, it } from 'vitest';
import {
  c4Clean,
  c4QualityStage,
  finewebQualityReason,
  finewebQualityStage,
  gopherQualityReason,
  gopherQualityStage,
  gopherRepetitionReason,
  gopherRepetitionStage,
  readSotu,
} from '../src/index.ts';

/**
 * Each published threshold is checked with a document built to sit exactly on it (kept: the rules drop only past a
 * bound) and one a step past it (dropped, with the rule's reason). The other rules are relaxed in these tests so
 * that the document isolates one threshold; the last test runs the published defaults on real prose.
 */
const gq = (overrides: Record<string, unknown> = {}) =>
  gopherQualityStage.configSchema.parse(
    {
      minWords: 0,
      maxWords: 10_000_000,
      minMeanWordLength: 0,
      maxMeanWordLength: 1000,
      maxSymbolWordRatio: 1000,
      maxBulletLineRatio: 1,
      maxEllipsisLineRatio: 1,
      minAlphaWordRatio: 0,
      minStopWords: 0,
      ...overrides,
    },
    'config',
  );
const gqDefaults = gopherQualityStage.configSchema.parse({}, 'config');
const gr = (overrides: Record<string, unknown> = {}) =>
  gopherRepetitionStage.configSchema.parse(
    {
      maxDuplicateLineFraction: 1,
      maxDuplicateParagraphFraction: 1,
      maxDuplicateLineCharFraction: 1,
      maxDuplicateParagraphCharFraction: 1,
      topNGramCharFractions: [],
      duplicateNGramCharFractions: [],
      ...overrides,
    },
    'config',
  );
const grDefaults = gopherRepetitionStage.configSchema.parse({}, 'config');
const fw = (overrides: Record<string, unknown> = {}) =>
  finewebQualityStage.configSchema.parse(
    { minLinePunctuationRatio: 0, maxShortLineRatio: 1, maxDuplicateLineCharRatio: 1, maxNewlineRatio: 1000, ...overrides },
    'config',
  );
const fwDefaults = finewebQualityStage.configSchema.parse({}, 'config');

/** n distinct 5-letter words ("wabcd"): no stop words, each unique, so no repetition. */
function distinctWords(n: number, prefix = 'w'): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: n }, (_, i) => {
    let s = '';
    for (let k = i, d = 0; d < 4; d++, k = Math.floor(k / 26)) s += letters[k % 26];
    return prefix + s;
  });
}

describe('Gopher quality thresholds (defaults from Rae et al. 2021, App. A.1.1)', () => {
  it('document length: 50 words kept, 49 dropped; 100,000 kept, 100,001 dropped', () => {
    const c = { ...gq(), minWords: gqDefaults.minWords, maxWords: gqDefaults.maxWords };
    expect(gopherQualityReason(distinctWords(50).join(' '), c)).toBeNull();
    expect(gopherQualityReason(distinctWords(49).join(' '), c)).toBe('too_few_words');
    const long = distinctWords(100_000);
    expect(gopherQualityReason(long.join(' '), c)).toBeNull();
    expect(gopherQualityReason([...long, 'extra'].join(' '), c)).toBe('too_many_words');
  });

  it('mean word length: 3 and 10 kept, just below 3 and just above 10 dropped', () => {
    const c = { ...gq(), minMeanWordLength: 3, maxMeanWordLength: 10 };
    // 100 words: lengths averaging exactly 3, then one character less in total.
    const three = Array.from({ length: 100 }, () => 'abc');
    expect(gopherQualityReason(three.join(' '), c)).toBeNull();
    expect(gopherQualityReason(['ab', ...three.slice(1)].join(' '), c)).toBe('mean_word_length_too_short');
    const ten = Array.from({ length: 100 }, () => 'abcdefghij');
    expect(gopherQualityReason(ten.join(' '), c)).toBeNull();
    expect(gopherQualityReason(['abcdefghijk', ...ten.slice(1)].join(' '), c)).toBe('mean_word_length_too_long');
  });

  it('symbol-to-word ratio 0.1: 10 hashes or ellipses per 100 words kept, 11 dropped', () => {
    const c = { ...gq(), maxSymbolWordRatio: 0.1 };
    const words = distinctWords(100);
    const withSymbols = (symbol: string, k: number) => words.map((w, i) => (i < k ? `${w} ${symbol}` : w)).join(' ');
    expect(gopherQualityReason(withSymbols('#', 10), c)).toBeNull();
    expect(gopherQualityReason(withSymbols('#', 11), c)).toBe('hash_ratio');
    expect(gopherQualityReason(withSymbols('...', 10), c)).toBeNull();
    expect(gopherQualityReason(withSymbols('…', 11), c)).toBe('ellipsis_ratio');
  });

  it('bullet lines: 90 of 100 lines kept, 91 dropped', () => {
    const c = { ...gq(), maxBulletLineRatio: 0.9 };
    const doc = (k: number) => distinctWords(100).map((w, i) => (i < k ? `• ${w} item` : `${w} line`)).join('\n');
    expect(gopherQualityReason(doc(90), c)).toBeNull();
    expect(gopherQualityReason(doc(91), c)).toBe('bullet_lines');
  });

  it('lines ending in an ellipsis: 30 of 100 kept, 31 dropped', () => {
    const c = { ...gq(), maxEllipsisLineRatio: 0.3 };
    const doc = (k: number) => distinctWords(100).map((w, i) => (i < k ? `${w} and so on...` : `${w} ends here.`)).join('\n');
    expect(gopherQualityReason(doc(30), c)).toBeNull();
    expect(gopherQualityReason(doc(31), c)).toBe('ellipsis_lines');
  });

  it('words with a letter: 80% kept, 79% dropped', () => {
    const c = { ...gq(), minAlphaWordRatio: 0.8 };
    const doc = (numbers: number) => [...distinctWords(100 - numbers), ...Array.from({ length: numbers }, (_, i) => String(1000 + i))].join(' ');
    expect(gopherQualityReason(doc(20), c)).toBeNull();
    expect(gopherQualityReason(doc(21), c)).toBe('alpha_words');
  });

  it('stop words: two of "the be to of and that have with" kept, one dropped', () => {
    const c = { ...gq(), minStopWords: 2 };
    const words = distinctWords(60);
    expect(gopherQualityReason([...words, 'the', 'of'].join(' '), c)).toBeNull();
    expect(gopherQualityReason([...words, 'the', 'the', 'The'].join(' '), c)).toBe('stop_words');
  });
});

describe('Gopher repetition thresholds (Rae et al. 2021, Table A1)', () => {
  // Lines of punctuation carry characters but no words, so they move line and paragraph fractions without
  // touching the n-gram rules.
  const unique = (n: number) => distinctWords(n).map((w) => `${w} ${w}x ${w}y.`);

  it('duplicate line fraction 0.30: 3 of 10 lines repeated kept, 4 dropped', () => {
    const c = gr({ maxDuplicateLineFraction: 0.3 });
    const doc = (dups: number) => [...unique(10 - dups), ...Array.from({ length: dups }, () => unique(1)[0])].join('\n');
    expect(gopherRepetitionReason(doc(3), c)).toBeNull();
    expect(gopherRepetitionReason(doc(4), c)).toBe('duplicate_lines');
  });

  it('duplicate line character fraction 0.20: exactly 20% of characters kept, one more dropped', () => {
    const c = gr({ maxDuplicateLineCharFraction: 0.2 });
    // A 200-character line twice: its second copy is the duplicated characters, 200 of about 1000.
    const body = 'x'.repeat(599);
    const dup = '='.repeat(200);
    const inside = [body, dup, dup].join('\n'); // 599 + 1 + 200 + 1 + 200 = 1001 chars; duplicated 200
    expect(200 / inside.length).toBeLessThanOrEqual(0.2);
    expect(gopherRepetitionReason(inside, c)).toBeNull();
    const outside = ['x'.repeat(595), dup, dup].join('\n');
    expect(200 / outside.length).toBeGreaterThan(0.2);
    expect(gopherRepetitionReason(outside, c)).toBe('duplicate_line_chars');
  });

  it('duplicate paragraph fraction 0.30 and character fraction 0.20', () => {
    const para = (i: number) => `${distinctWords(3, `p${i}`).join(' ')}.`;
    const doc = (dups: number) => [...Array.from({ length: 10 - dups }, (_, i) => para(i)), ...Array.from({ length: dups }, () => para(0))].join('\n\n');
    expect(gopherRepetitionReason(doc(3), gr({ maxDuplicateParagraphFraction: 0.3 }))).toBeNull();
    expect(gopherRepetitionReason(doc(4), gr({ maxDuplicateParagraphFraction: 0.3 }))).toBe('duplicate_paragraphs');
    const dupPara = '='.repeat(200);
    const inside = ['x'.repeat(598), dupPara, dupPara].join('\n\n');
    expect(200 / inside.length).toBeLessThanOrEqual(0.2);
    expect(gopherRepetitionReason(inside, gr({ maxDuplicateParagraphCharFraction: 0.2 }))).toBeNull();
    const outside = ['x'.repeat(590), dupPara, dupPara].join('\n\n');
    expect(gopherRepetitionReason(outside, gr({ maxDuplicateParagraphCharFraction: 0.2 }))).toBe('duplicate_paragraph_chars');
  });

  it('top 2/3/4-gram character fractions 0.20/0.18/0.16', () => {
    for (const [n, fraction] of [
      [2, 0.2],
      [3, 0.18],
      [4, 0.16],
    ] as const) {
      const c = gr({ topNGramCharFractions: [{ n, fraction }] });
      const gram = distinctWords(n, 'g').join(' '); // n words of 5 letters: 6n - 1 characters
      // k copies of the n-gram (separated by unique words so longer n-grams do not repeat) in filler text of
      // `filler` characters; find the largest k that stays within the bound and check k + 1 exceeds it.
      const build = (k: number) => [...Array.from({ length: k }, (_, i) => `${gram} s${i}`), 'f'.repeat(4000)].join(' ');
      const ratio = (k: number) => (k * gram.length) / build(k).length;
      let k = 2;
      while (ratio(k + 1) <= fraction) k++;
      expect(gopherRepetitionReason(build(k), c), `${n}-gram inside`).toBeNull();
      expect(gopherRepetitionReason(build(k + 1), c), `${n}-gram outside`).toBe(`top_${n}_gram`);
      expect(ratio(k + 1) - fraction).toBeLessThan(0.01);
    }
  });

  it('duplicated 5..10-gram character fractions 0.15 down to 0.10', () => {
    for (const [n, fraction] of [
      [5, 0.15],
      [6, 0.14],
      [7, 0.13],
      [8, 0.12],
      [9, 0.11],
      [10, 0.1],
    ] as const) {
      const c = gr({ duplicateNGramCharFractions: [{ n, fraction }] });
      const gram = distinctWords(n, 'd').join(' ');
      // One n-gram repeated k + 1 times: k duplicates of gram.length characters each.
      const build = (k: number) => [...Array.from({ length: k + 1 }, (_, i) => `${gram} u${i}`), 'f'.repeat(4000)].join(' ');
      const ratio = (k: number) => (k * gram.length) / build(k).length;
      let k = 1;
      while (ratio(k + 1) <= fraction) k++;
      expect(gopherRepetitionReason(build(k), c), `${n}-gram inside`).toBeNull();
      expect(gopherRepetitionReason(build(k + 1), c), `${n}-gram outside`).toBe(`duplicate_${n}_grams`);
    }
  });
});

describe('C4 rules (Raffel et al. 2020, §2.2)', () => {
  const c4 = c4QualityStage.configSchema.parse({}, 'config');
  const sentence = (i: number) => `This is sentence number ${distinctWords(10)[i]} here.`;

  it('five sentences kept, four dropped', () => {
    expect(c4Clean(Array.from({ length: 5 }, (_, i) => sentence(i)).join('\n'), c4)).toMatchObject({ keep: true });
    expect(c4Clean(Array.from({ length: 4 }, (_, i) => sentence(i)).join('\n'), c4)).toEqual({ keep: false, reason: 'too_few_sentences' });
  });

  it('drops lines without terminal punctuation, with fewer than 3 words, or naming javascript or cookies', () => {
    const lines = [
      ...Array.from({ length: 5 }, (_, i) => sentence(i)),
      'A heading without punctuation',
      'Two words.',
      'Three words here.',
      'Please enable JavaScript to view this page.',
      'This site uses cookies to improve things.',
      'It trails off...',
    ];
    const r = c4Clean(lines.join('\n'), c4);
    expect(r).toEqual({ keep: true, text: [...Array.from({ length: 5 }, (_, i) => sentence(i)), 'Three words here.'].join('\n') });
  });

  it('drops the page for lorem ipsum or a curly brace', () => {
    const five = Array.from({ length: 5 }, (_, i) => sentence(i));
    expect(c4Clean([...five, 'Lorem ipsum dolor sit amet.'].join('\n'), c4)).toEqual({ keep: false, reason: 'lorem_ipsum' });
    expect(c4Clean([...five, 'function f() { return 1; }.'].join('\n'), c4)).toEqual({ keep: false, reason: 'curly_brace' });
  });
});

describe('FineWeb rules (Penedo et al. 2024, §3.3.3)', () => {
  const long = (i: number, end: string) => `${distinctWords(8, `l${i}`).join(' ')}${end}`;

  it('line punctuation ratio 0.12: 12 of 100 lines ending in punctuation kept, 11 dropped', () => {
    const c = fw({ minLinePunctuationRatio: 0.12 });
    const doc = (k: number) => Array.from({ length: 100 }, (_, i) => long(i, i < k ? '.' : '')).join('\n');
    expect(finewebQualityReason(doc(12), c)).toBeNull();
    expect(finewebQualityReason(doc(11), c)).toBe('line_punctuation');
  });

  it('short-line ratio 0.67: 67 of 100 lines of at most 30 characters kept, 68 dropped', () => {
    const c = fw({ maxShortLineRatio: 0.67 });
    const doc = (k: number) => Array.from({ length: 100 }, (_, i) => (i < k ? `short ${i}`.padEnd(30, 'z') : long(i, '.'))).join('\n');
    expect(finewebQualityReason(doc(67), c)).toBeNull();
    expect(finewebQualityReason(doc(68), c)).toBe('short_lines');
  });

  it('duplicated-line characters 1%: exactly 1% kept, just over dropped', () => {
    const c = fw({ maxDuplicateLineCharRatio: 0.01 });
    const dup = 'Repeated line of text.'; // 22 characters
    const build = (filler: number) => [dup, 'y'.repeat(filler), dup].join('\n');
    // characters without newlines: 44 + filler; duplicated: 22.
    expect(finewebQualityReason(build(2156), c)).toBeNull(); // 22 / 2200 = 0.01
    expect(finewebQualityReason(build(2155), c)).toBe('duplicate_line_chars');
  });

  it('newline ratio 0.3: 30 newlines per 100 words kept, 31 dropped', () => {
    const c = fw({ maxNewlineRatio: 0.3 });
    const words = distinctWords(100);
    const doc = (newlines: number) => words.map((w, i) => (i > 0 && i <= newlines ? `\n${w}` : ` ${w}`)).join('').trim();
    expect(finewebQualityReason(doc(30), c)).toBeNull();
    expect(finewebQualityReason(doc(31), c)).toBe('newline_ratio');
  });
});

describe('published defaults on real prose', () => {
  it('keep State of the Union addresses and drop boilerplate, lists and repetition', async () => {
    const docs = (await readSotu()).slice(200, 210);
    for (const d of docs) {
      expect(gopherQualityReason(d.text, gqDefaults), d.id).toBeNull();
      expect(gopherRepetitionReason(d.text, grDefaults), d.id).toBeNull();
      expect(finewebQualityReason(d.text, fwDefaults), d.id).toBeNull();
    }
    const spam = Array.from({ length: 40 }, () => 'Buy cheap watches now! Best prices online!').join('\n');
    expect(gopherRepetitionReason(spam, grDefaults)).toBe('duplicate_lines');
    const menu = Array.from({ length: 60 }, (_, i) => `Home ${i}`).join('\n');
    expect(gopherQualityReason(menu, gqDefaults)).not.toBeNull();
    expect(finewebQualityReason(menu, fwDefaults)).toBe('line_punctuation');
  });
});
