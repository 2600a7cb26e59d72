import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus, readCorpusText, readFiles, readSotu, splitHeldOut } from '../src/index.ts';

const made: string[] = [];
afterAll(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const CAP = { maxDocumentBytes: 1 << 20 };

async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'unilab-corpus-'));
  made.push(dir);
  return dir;
}

/** Copy the first SOTU addresses into a fresh temporary directory (a different path every time). */
async function sotuCopy(count: number): Promise<string> {
  const docs = (await readSotu()).slice(0, count);
  const dir = await temp();
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

  it('split a one-file corpus inside the file, the same whatever the file is called', async () => {
    const text = (await readSotu())
      .slice(0, 20)
      .map((d) => d.text)
      .join('\n\n');
    const dir = await temp();
    const split = async (name: string) => {
      await writeFile(join(dir, name), text);
      return splitHeldOut((await readCorpusText(join(dir, name), CAP)).documents, 0.1);
    };
    const [a, b] = [await split('speeches.txt'), await split('zz-other-name.txt')];
    expect(a.train.length + a.heldOut.length).toBeGreaterThan(10);
    expect(a.heldOut.length).toBeGreaterThan(0);
    expect(a.train.length).toBeGreaterThan(a.heldOut.length);
    expect(a).toEqual(b);
    // Nothing is lost or reordered by the cut: the pieces in order are the file's lines.
    const pieces = [...a.train, ...a.heldOut].sort((x, y) => Number(x.id.slice(5)) - Number(y.id.slice(5)));
    expect(pieces.map((p) => p.text).join('\n')).toBe(text);
  });

  it('read CR, CRLF and LF alike, strip a byte-order mark, read gzip, and count blank records as dropped', async () => {
    const dir = await temp();
    await writeFile(join(dir, 'a-cr.txt'), 'one\rtwo\r\nthree\n');
    await writeFile(join(dir, 'b-bom.txt'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('with a mark')]));
    await writeFile(join(dir, 'c-zipped.txt.gz'), gzipSync('from gzip\n'));
    await writeFile(join(dir, 'd-nel.txt'), '\u0085\u200b \u00a0\r\n\u2060');
    await writeFile(join(dir, 'e-empty.txt'), '');
    const { documents, dropped, problems } = await readCorpusText(dir, CAP);
    expect(documents).toEqual([
      { id: 'a-cr.txt', text: 'one\ntwo\nthree' },
      { id: 'b-bom.txt', text: 'with a mark' },
      { id: 'c-zipped.txt.gz', text: 'from gzip' },
    ]);
    expect(dropped).toEqual({ blank_document: 1, empty_file: 1 });
    expect(problems.map((p) => `${p.file}:${p.line} ${p.code}`)).toEqual(['d-nel.txt:1 blank_document', 'e-empty.txt:0 empty_file']);
  });

  it('report a bad file with its name and line and go on with the rest of the directory', async () => {
    const dir = await temp();
    await writeFile(join(dir, 'a-good.txt'), 'good text');
    await writeFile(join(dir, 'b-utf16.txt'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('UTF-16 text', 'utf16le')]));
    await writeFile(join(dir, 'c-utf16-no-bom.txt'), Buffer.from('UTF-16 text without a byte-order mark', 'utf16le'));
    await writeFile(join(dir, 'd-binary.txt'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]));
    await writeFile(join(dir, 'e-latin1.txt'), Buffer.concat([Buffer.from('line one\nline two caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const full = gzipSync(Array.from({ length: 3000 }, (_, i) => `line ${i} of a long file`).join('\n'));
    await writeFile(join(dir, 'f-truncated.txt.gz'), full.subarray(0, full.length >> 1));
    await mkdir(join(dir, 'g-sub'));
    await writeFile(join(dir, 'g-sub', 'nested.txt'), 'nested text');
    const { documents, problems } = await readCorpusText(dir, CAP);
    expect(documents.map((d) => d.id)).toEqual(['a-good.txt', join('g-sub', 'nested.txt')]);
    expect(problems.map((p) => `${p.file}:${p.line} ${p.code}`)).toEqual([
      'b-utf16.txt:0 utf16_file',
      'c-utf16-no-bom.txt:0 utf16_file',
      'd-binary.txt:0 binary_file',
      'e-latin1.txt:2 invalid_utf8',
      'f-truncated.txt.gz:0 truncated_gzip',
    ]);
    expect(problems[0].message).toMatch(/convert it to UTF-8/);
    expect(problems[4].message).toMatch(/kept the 0 record\(s\)/);
  });

  it('a file removed while the directory is read is reported, and the rest is read', async () => {
    const dir = await temp();
    for (const name of ['a.txt', 'b.txt', 'c.txt']) await writeFile(join(dir, name), `text of ${name}`);
    const seen: string[] = [];
    for await (const item of readFiles(dir, { source: 's', format: 'txt', maxDocumentBytes: 1 << 20 })) {
      if ('document' in item && item.document.text === 'text of a.txt') await unlink(join(dir, 'b.txt'));
      seen.push('document' in item ? item.document.text : `${item.problem.file.slice(dir.length + 1)} ${item.problem.code}: ${item.problem.message}`);
    }
    expect(seen).toEqual(['text of a.txt', 'b.txt unreadable: the file was removed after the directory was listed; skipped', 'text of c.txt']);
  });

  it('a truncated .gz of a one-file corpus says how many pieces it kept', async () => {
    const dir = await temp();
    const full = gzipSync(Array.from({ length: 20_000 }, (_, i) => `line ${i} of a long file`).join('\n'));
    await writeFile(join(dir, 'big.txt.gz'), full.subarray(0, full.length >> 1));
    const { documents, problems } = await readCorpusText(join(dir, 'big.txt.gz'), CAP);
    expect(documents.length).toBeGreaterThan(5);
    expect(problems).toEqual([expect.objectContaining({ file: 'big.txt.gz', code: 'truncated_gzip' })]);
    expect(problems[0].message).toContain(`kept the ${documents.length} record(s)`);
  });

  it('skip a 100 MiB single line while it streams past, naming the file and line', async () => {
    const dir = await temp();
    const stream = createWriteStream(join(dir, 'huge.txt'));
    const chunk = Buffer.alloc(1 << 20, 'a');
    for (let i = 0; i < 100; i++) if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
    await new Promise((r) => stream.end('\nthe line after it\n', () => r(null)));
    const { documents, problems } = await readCorpusText(join(dir, 'huge.txt'), { maxDocumentBytes: 1 << 20 });
    expect(documents.map((d) => d.text)).toEqual(['the line after it']);
    expect(problems.map((p) => `${p.file}:${p.line} ${p.code}`)).toEqual(['huge.txt:1 too_long']);
  });
});
