import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus, splitHeldOut } from '../src/index.ts';

const made: string[] = [];
afterAll(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

/** Copy the first SOTU addresses into a fresh temporary directory (a different path every time). */
async function sotuCopy(count: number): Promise<string> {
  const docs = (await readCorpus('sotu')).slice(0, count);
  const dir = await mkdtemp(join(tmpdir(), 'unilab-corpus-'));
  made.push(dir);
  await mkdir(join(dir, 'texts'));
  await Promise.all(docs.map((d, i) => writeFile(join(dir, 'texts', `address-${String(i).padStart(3, '0')}.txt`), d.text)));
  return join(dir, 'texts');
}

describe('text-file corpora', () => {
  it('name documents by their file name inside the corpus, so the held-out split does not depend on where it lies', async () => {
    const [a, b] = [await sotuCopy(60), await sotuCopy(60)];
    const ids = (docs: { id: string }[]) => docs.map((d) => d.id);
    const splitA = splitHeldOut(await readCorpus(a), 0.1);
    const splitB = splitHeldOut(await readCorpus(b), 0.1);
    expect(ids(splitA.heldOut).length).toBeGreaterThan(0);
    expect(ids(splitA.heldOut)).toEqual(ids(splitB.heldOut));
    expect(ids(splitA.train)).toEqual(ids(splitB.train));
    expect(ids(splitA.train)[0]).toBe('address-000.txt');
  });

  it('name a single-file corpus by its file name', async () => {
    const dir = await sotuCopy(1);
    const docs = await readCorpus(join(dir, 'address-000.txt'));
    expect(docs.map((d) => d.id)).toEqual(['address-000.txt']);
  });
});
