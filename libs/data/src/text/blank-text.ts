/**
 * Text with nothing to learn from: only white space (Unicode's White_Space property, which counts U+0085 NEXT LINE
 * and U+00A0 that JavaScript's trim() partly misses), format characters (zero-width space U+200B, joiners, U+FEFF,
 * bidi marks: category Cf) and control characters. A reader counts such a record as dropped, never keeps it.
 */
const BLANK = /^[\p{White_Space}\p{Cf}\p{Cc}]*$/u;

export function isBlankText(text: string): boolean {
  return BLANK.test(text);
}
