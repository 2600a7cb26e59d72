import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpusText, readFiles, readShardIndex, type ReadItem } from '../src/index.ts';

const made: string[] = [];
afterAll(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const CAP = { maxDocumentBytes: 1 << 20 };
/** Stands in for /etc/passwd: a file outside the input directory that must never be read through a link. */
const SECRET = 'root:x:0:0:SECRET-OUTSIDE-THE-CORPUS:/root:/bin/bash';

async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'unilab-links-'));
  made.push(dir);
  return dir;
}

/** A corpus directory beside a secret file; the corpus holds real text and a link to the secret. */
async function attackedCorpus(): Promise<{ corpus: string; secret: string }> {
  const base = await temp();
  const secret = join(base, 'passwd');
  await writeFile(secret, SECRET);
  const corpus = join(base, 'corpus');
  await mkdir(corpus);
  await writeFile(join(corpus, 'a.txt'), 'Fellow citizens of the Senate and of the House of Representatives.');
  await symlink(secret, join(corpus, 'passwd.txt'));
  return { corpus, secret };
}

async function collect(items: AsyncIterable<ReadItem>): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for await (const i of items) out.push(i);
  return out;
}

describe('symbolic links in an input directory', () => {
  it('a training corpus refuses a link to a file outside it, with the link and the reason, and never reads it', async () => {
    const { corpus } = await attackedCorpus();
    const { documents, dropped, problems } = await readCorpusText(corpus, CAP);
    expect(documents.map((d) => d.id)).toEqual(['a.txt']);
    expect(documents.some((d) => d.text.includes('SECRET'))).toBe(false);
    expect(dropped).toEqual({ link_outside_root: 1 });
    expect(problems).toEqual([{ file: 'passwd.txt', line: 0, code: 'link_outside_root', message: expect.stringMatching(/symbolic link that resolves outside the input directory/) }]);
  });

  it('`unilab data` sources refuse a link out too, and a link to a folder outside; links inside are followed', async () => {
    const { corpus } = await attackedCorpus();
    const outside = await temp();
    await writeFile(join(outside, 'leak.txt'), SECRET);
    await symlink(outside, join(corpus, 'folder'));
    await mkdir(join(corpus, 'inner'));
    await writeFile(join(corpus, 'inner', 'b.txt'), 'Text inside the corpus.');
    await symlink(join(corpus, 'inner', 'b.txt'), join(corpus, 'c-link-inside.txt'));
    await symlink('../corpus/inner', join(corpus, 'd-relative-inside'));
    await symlink('.', join(corpus, 'e-the-corpus-again'));
    await symlink('..', join(corpus, 'f-parent'));
    const items = await collect(readFiles(corpus, { source: 's', format: 'txt', maxDocumentBytes: 1 << 20 }));
    const texts = items.flatMap((i) => ('document' in i ? [i.document.text] : []));
    expect(texts.join()).not.toContain('SECRET');
    expect(texts).toEqual([
      'Fellow citizens of the Senate and of the House of Representatives.',
      'Text inside the corpus.',
      'Text inside the corpus.',
    ]);
    const refused = items.flatMap((i) => ('problem' in i ? [`${i.problem.file.slice(corpus.length + 1)} ${i.problem.code}`] : []));
    expect(refused).toEqual(['f-parent link_outside_root', 'folder link_outside_root', 'passwd.txt link_outside_root']);
  });

  it('a link loop says "symbolic link loop", a link to nothing says so, and a FIFO is refused without blocking', async () => {
    const dir = await temp();
    await writeFile(join(dir, 'a.txt'), 'some text');
    await symlink('loop-b.txt', join(dir, 'loop-a.txt'));
    await symlink('loop-a.txt', join(dir, 'loop-b.txt'));
    await symlink('self.txt', join(dir, 'self.txt'));
    await symlink('missing.txt', join(dir, 'dangling.txt'));
    execFileSync('mkfifo', [join(dir, 'pipe.txt')]);
    const { documents, problems } = await readCorpusText(dir, CAP);
    expect(documents.map((d) => d.id)).toEqual(['a.txt']);
    expect(problems.map((p) => `${p.file} ${p.code}`)).toEqual([
      'dangling.txt dangling_link',
      'loop-a.txt link_loop',
      'loop-b.txt link_loop',
      'pipe.txt not_a_file',
      'self.txt link_loop',
    ]);
    expect(problems[1].message).toMatch(/^symbolic link loop/);
    await expect(readCorpusText(join(dir, 'self.txt'), CAP)).rejects.toThrow(/self\.txt is a symbolic link loop/);
    await expect(readCorpusText(join(dir, 'nope'), CAP)).rejects.toThrow(/nope does not exist/);
  });

  it("a shard set's index.json may name only files inside the set", async () => {
    const base = await temp();
    await writeFile(join(base, 'secret.bin'), SECRET);
    const set = join(base, 'set');
    await mkdir(set);
    const index = (shard: Record<string, unknown>, tokenizer = 'tokenizer.json') =>
      writeFile(
        join(set, 'index.json'),
        JSON.stringify({ format: 'unilab-shards', version: 1, dtype: 'uint16', seqLen: 4, tokenizer, shards: [{ file: 'shard-00000.bin', boundaries: 'shard-00000.docs.bin', sequences: 1, segments: 1, ...shard }] }),
      );
    await index({ file: '../secret.bin' });
    await expect(readShardIndex(set)).rejects.toThrow(/shards\[0\]\.file: "\.\.\/secret\.bin" is outside the dataset directory/);
    await index({ boundaries: join(base, 'secret.bin') });
    await expect(readShardIndex(set)).rejects.toThrow(/shards\[0\]\.boundaries: ".*secret\.bin" is outside the dataset directory/);
    await symlink(join(base, 'secret.bin'), join(set, 'shard-00000.bin'));
    await index({});
    await expect(readShardIndex(set)).rejects.toThrow(/shards\[0\]\.file: "shard-00000\.bin" in .* is a symbolic link that resolves outside the dataset directory/);
    await symlink('tokenizer.json', join(set, 'tokenizer.json'));
    await index({ file: 'shard-00001.bin' });
    await expect(readShardIndex(set)).rejects.toThrow(/tokenizer: "tokenizer\.json" in .* is a symbolic link loop/);
  });
});
