/**
 * The Brown corpus's 15 genres (Francis & Kučera 1979), named as NLTK names them. A document's genre is the letter
 * after "c" in its file name (brown/ca01 is press reportage, "news").
 */
export const BROWN_GENRES: Readonly<Record<string, string>> = {
  a: 'news',
  b: 'editorial',
  c: 'reviews',
  d: 'religion',
  e: 'hobbies',
  f: 'lore',
  g: 'belles_lettres',
  h: 'government',
  j: 'learned',
  k: 'fiction',
  l: 'mystery',
  m: 'science_fiction',
  n: 'adventure',
  p: 'romance',
  r: 'humor',
};

/** The genre of a Brown document id ("brown/ca01" → "news"); an id of another form is refused. */
export function brownGenre(id: string): string {
  const genre = /^brown\/c([a-r])\d\d$/.exec(id)?.[1];
  if (!genre || !BROWN_GENRES[genre]) throw new Error(`"${id}" is not a Brown document id (brown/c<genre letter><2 digits>)`);
  return BROWN_GENRES[genre];
}
