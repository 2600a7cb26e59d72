import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from '@unilab/data';
import { createDefaultRegistry, prepareData, runTraining, type RunInfo } from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';

/** Stands in for /etc/passwd: a file outside the corpus that a link inside it points at. */
const SECRET = 'root:x:0:0:SECRET-OUTSIDE-THE-CORPUS:/root:/bin/bash\n';

describe('training corpora go through the validated reader', () => {
  it('a link in the corpus to a file outside it is not trained on; the run reports it with its path and reason', async () => {
    const corpus = await sotuSubset(3);
    const secret = join(dirname(corpus), 'passwd');
    await writeFile(secret, SECRET.repeat(200));
    await symlink(secret, join(corpus, 'passwd.txt'));
    const clean = await prepareData(await sotuSubset(3), 0.1, new ByteTokenizer([]), 1 << 20);
    let info: RunInfo | undefined;
    await runTraining({
      spec: tinySpec(corpus, { train: { steps: 1, warmupSteps: 0 } }),
      outDir: await tempDir(),
      registry: createDefaultRegistry(),
      onEvent: (e) => e.type === 'start' && (info = e),
    });
    expect(info!.trainTokens).toBe(clean.trainTokens);
    expect(info!.dropped).toEqual({ link_outside_root: 1 });
    expect(info!.problems).toEqual([expect.objectContaining({ file: 'passwd.txt', code: 'link_outside_root' })]);
  });

  it('a corpus with no readable text says why instead of a raw ENOENT', async () => {
    const corpus = join(await tempDir(), 'corpus');
    await mkdir(corpus);
    await symlink('/nonexistent/target.txt', join(corpus, 'gone.txt'));
    await expect(prepareData(corpus, 0.1, new ByteTokenizer([]), 1 << 20)).rejects.toThrow(
      `corpus ${corpus} holds no text (gone.txt: symbolic link to nothing (its target does not exist); refused)`,
    );
  });
});
