import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiRequestError, type ApiClient } from '../src/client.ts';
import type { RunningServer } from '../src/server.ts';
import { followToEnd, makeDataDir, removeTempDirs, startTestServer, tempDir, tinySpec } from './helpers.ts';

let server: RunningServer;
let client: ApiClient;
let dataDir: string;

beforeAll(async () => {
  dataDir = await makeDataDir();
  ({ server, client } = await startTestServer(dataDir));
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

describe('a job whose corpus directory holds a link out of it', () => {
  it('trains on the rest and never on the linked file; its start event names the link and the reason', async () => {
    // Stands in for /etc/passwd: a file outside the data directory.
    const secret = join(await tempDir('unilab-secret-'), 'passwd');
    await writeFile(secret, 'root:x:0:0:SECRET-OUTSIDE-THE-DATA-DIR:/root:/bin/bash\n'.repeat(100));
    const corpus = join(dataDir, 'corpora', 'linked');
    await mkdir(corpus);
    const text = 'Fellow citizens of the Senate and of the House of Representatives.';
    await writeFile(join(corpus, 'a.txt'), text);
    await symlink(secret, join(corpus, 'passwd.txt'));
    const job = await client.submit(tinySpec({ name: 'linked', data: { corpus: 'corpora/linked', heldOutFraction: 0 }, train: { steps: 2, warmupSteps: 0, checkpointEvery: 0 } }));
    const events = await followToEnd(client, job.id);
    expect(events.at(-1)?.data.status).toBe('completed');
    const start = events.find((e) => e.type === 'start')!.data;
    expect(start.trainTokens).toBe(text.length);
    expect(start.dropped).toEqual({ link_outside_root: 1 });
    expect(start.problems).toEqual([{ file: 'passwd.txt', line: 0, code: 'link_outside_root', message: expect.stringContaining('resolves outside the input directory') }]);
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it('a shard set whose index.json names a file through a link out of the set is refused at admission with 400', async () => {
    const secret = join(await tempDir('unilab-secret-'), 'secret.bin');
    await writeFile(secret, 'SECRET');
    const set = join(dataDir, 'datasets', 'crafted');
    await mkdir(set, { recursive: true });
    await symlink(secret, join(set, 'shard-00000.bin'));
    const shard = { file: 'shard-00000.bin', boundaries: 'shard-00000.docs.bin', sequences: 1, segments: 1, documentTokens: 1, crc32: 0 };
    await writeFile(join(set, 'index.json'), JSON.stringify({ format: 'unilab-shards', version: 1, dtype: 'uint16', seqLen: 4, vocabSize: 300, tokenizer: 'tokenizer.json', shards: [shard] }));
    const refused = await client.submit(tinySpec({ name: 'crafted', data: { shards: 'datasets/crafted' } })).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiRequestError);
    expect(refused).toMatchObject({ status: 400, path: 'spec.data.shards' });
    expect((refused as Error).message).toMatch(/shards\[0\]\.file: "shard-00000\.bin" in .* is a symbolic link that resolves outside the dataset directory/);
  });
});
