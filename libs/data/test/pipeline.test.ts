import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecError, type DataStagePlugin } from '@unilab/core';
import { dataStagePlugins, parsePipelineSpec, readBrown, readFiles, readShardDataset, runPipeline, type ReadItem } from '../src/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'unilab-data-'));

async function collect(items: AsyncIterable<ReadItem>): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for await (const i of items) out.push(i);
  return out;
}

/** A 100 MB single line, written in chunks so the test itself never holds it. */
async function writeHugeLine(path: string, bytes: number): Promise<void> {
  const stream = createWriteStream(path);
  const chunk = Buffer.alloc(1 << 20, 'a');
  for (let written = 0; written < bytes; written += chunk.length) if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
  stream.write('\n{"text": "after the huge line"}\n');
  await new Promise((r) => stream.end(r));
}

describe('readers on bad input', () => {
  it('report each problem with file and line, count it, and go on reading', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a-good.jsonl'), '{"text": "first"}\n\n{"text": "second", "id": "x2"}\n');
    writeFileSync(join(dir, 'b-malformed.jsonl'), '{"text": "ok"}\n{"text": broken\n{"body": "no text field"}\n{"text": 42}\n{"text": "last"}\n');
    writeFileSync(join(dir, 'c-empty.jsonl'), '');
    writeFileSync(join(dir, 'd-binary.jsonl'), Buffer.from([0x7b, 0x00, 0x01, 0x02, 0xff, 0x0a]));
    writeFileSync(join(dir, 'e-utf8.jsonl'), Buffer.concat([Buffer.from('{"text": "fine"}\n{"text": "bad '), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
    writeFileSync(join(dir, 'f-zipped.jsonl.gz'), gzipSync('{"text": "from gzip"}\n'));
    writeFileSync(join(dir, 'g-corrupt.jsonl.gz'), Buffer.concat([gzipSync('{"text": "x"}\n').subarray(0, 12), Buffer.from('garbage')]));
    await writeHugeLine(join(dir, 'h-huge.jsonl'), 100 << 20);
    const items = await collect(readFiles(dir, { source: 's', format: 'jsonl', maxDocumentBytes: 1 << 20 }));
    const texts = items.flatMap((i) => ('document' in i ? [i.document.text] : []));
    expect(texts).toEqual(['first', 'second', 'ok', 'last', 'fine', 'from gzip', 'after the huge line']);
    const problems = items.flatMap((i) => ('problem' in i ? [i.problem] : []));
    const where = problems.map((p) => `${p.file.slice(dir.length + 1)}:${p.line} ${p.code}`);
    expect(where).toEqual([
      'a-good.jsonl:2 blank_line',
      'b-malformed.jsonl:2 malformed_json',
      'b-malformed.jsonl:3 missing_text_field',
      'b-malformed.jsonl:4 missing_text_field',
      'c-empty.jsonl:0 empty_file',
      'd-binary.jsonl:0 binary_file',
      'e-utf8.jsonl:2 invalid_utf8',
      'g-corrupt.jsonl.gz:0 truncated_gzip',
      'h-huge.jsonl:1 too_long',
    ]);
    expect(items.find((i) => 'document' in i && i.document.text === 'second')).toMatchObject({ document: { id: `${join(dir, 'a-good.jsonl')}#x2` } });
  });

  it('split .txt files whole, by line, by blank line and by marker line', async () => {
    const dir = tmp();
    const path = join(dir, 'doc.txt');
    writeFileSync(path, 'one\ntwo\n\nthree\n---\nfour\r\n');
    const texts = async (split: Parameters<typeof readFiles>[1]['split']) =>
      (await collect(readFiles(path, { source: 's', format: 'txt', split, maxDocumentBytes: 1 << 20 }))).map((i) => ('document' in i ? i.document.text : 'problem'));
    expect(await texts({ kind: 'whole' })).toEqual(['one\ntwo\n\nthree\n---\nfour']);
    // The empty line is a record of its own in line mode: dropped and counted.
    expect(await texts({ kind: 'line' })).toEqual(['one', 'two', 'problem', 'three', '---', 'four']);
    expect(await texts({ kind: 'blank-line' })).toEqual(['one\ntwo', 'three\n---\nfour']);
    expect(await texts({ kind: 'marker', marker: '---' })).toEqual(['one\ntwo\n\nthree', 'four']);
  });
});

describe('pipeline spec validation', () => {
  const base = { output: '/tmp/x', sources: [{ name: 'a', corpus: 'brown' }] };
  const fails = (spec: unknown) => {
    try {
      parsePipelineSpec(spec, dataStagePlugins);
    } catch (err) {
      expect(err).toBeInstanceOf(SpecError);
      return (err as Error).message;
    }
    throw new Error('expected the spec to be refused');
  };

  it('names the bad field and what is allowed', () => {
    expect(fails({ ...base, stages: [{ stage: 'gopher-quality', config: { minWords: -1 } }] })).toBe('pipeline.stages[0].config.minWords: expected an integer >= 0, got -1');
    expect(fails({ ...base, stages: [{ stage: 'nope' }] })).toMatch(/^pipeline\.stages\[0\]\.stage: unknown stage "nope"; available: language-id, /);
    expect(fails({ ...base, sources: [{ name: 'a', corpus: 'wiki' }] })).toMatch(/^pipeline\.sources\[0\]\.corpus: expected one of "sotu", "brown", "udhr"/);
    expect(fails({ ...base, sources: [{ name: 'a' }] })).toMatch(/^pipeline\.sources\[0\]: give exactly one of "corpus"/);
    expect(fails({ ...base, stages: [{ stage: 'exact-dedup', sources: ['b'] }] })).toMatch(/^pipeline\.stages\[0\]\.sources\[0\]: no source is named "b"/);
    expect(fails({ ...base, pack: { seqLen: 1 } })).toBe('pipeline.pack.seqLen: expected an integer >= 2 and <= 1048576, got 1');
    expect(fails({ ...base, tokenizr: {} })).toMatch(/^pipeline\.tokenizr: unknown field/);
  });
});

describe('runPipeline', () => {
  it('filters, dedups, trains a tokenizer and packs shards that read back to the kept documents', async () => {
    const dir = tmp();
    const brown = (await readBrown()).slice(0, 60);
    const lines = brown.map((d) => JSON.stringify({ text: d.text }));
    // Plant an exact and a near duplicate, a French page, boilerplate, and bad lines.
    lines.push(JSON.stringify({ text: brown[0].text }));
    lines.push(JSON.stringify({ text: brown[1].text.replace(/\bthe\b/, 'a') }));
    lines.push(JSON.stringify({ text: 'La Déclaration universelle des droits de l’homme a été adoptée par l’Assemblée générale des Nations unies. '.repeat(20) }));
    lines.push(JSON.stringify({ text: Array.from({ length: 50 }, (_, i) => `Menu item ${i}`).join('\n') }));
    lines.push('{"text": oops');
    writeFileSync(join(dir, 'corpus.jsonl'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const out = join(dir, 'out');
    const spec = parsePipelineSpec(
      {
        output: out,
        sources: [{ name: 'web', path: dir, format: 'jsonl' }],
        stages: [
          { stage: 'language-id', config: { languages: ['en'] } },
          { stage: 'gopher-quality' },
          { stage: 'gopher-repetition' },
          { stage: 'exact-dedup' },
          { stage: 'minhash-dedup' },
        ],
        tokenizer: { vocabSize: 600, objectives: [] },
        pack: { seqLen: 128, sequencesPerShard: 200 },
      },
      dataStagePlugins,
    );
    const progress: string[] = [];
    const report = await runPipeline({ spec, events: { onProgress: (u) => u.done && progress.push(`${u.phase}:${u.source ?? ''}`) } });
    expect(progress).toEqual(['filter:web', 'tokenizer:', 'encode:web', 'pack:']);
    const byStage = Object.fromEntries(report.stages.map((s) => [s.stage, s]));
    expect(byStage.read).toMatchObject({ documentsIn: 66, kept: 64, dropped: 2, reasons: { malformed_json: 1, empty_file: 1 } });
    // The French page goes as French; the menu has no language ELD can tell.
    expect(byStage['language-id'].reasons).toEqual({ language_fr: 1, undetermined: 1 });
    expect(byStage['exact-dedup'].reasons).toEqual({ exact_duplicate: 1 });
    expect(byStage['minhash-dedup'].reasons).toEqual({ near_duplicate: 1 });
    expect(report.problems.map((p) => `${p.file.slice(dir.length + 1)}:${p.line}`)).toEqual(['corpus.jsonl:65', 'empty.jsonl:0']);
    const kept = report.sources.web.keptDocuments;
    expect(kept).toBe(byStage['minhash-dedup'].kept);

    const dataset = await readShardDataset(out);
    expect(dataset.index.documents).toBe(kept);
    expect(dataset.index.dtype).toBe('uint16');
    expect(dataset.tokenizer.vocabSize).toBe(600);
    const decoded = dataset.documents.map((d) => dataset.tokenizer.decode(d));
    for (const d of brown.slice(2, 60)) expect(decoded).toContain(d.text);
    expect(existsSync(join(out, '.work'))).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a stage that fails mid-run leaves no index and no partial shard', async () => {
    const dir = tmp();
    const failing: DataStagePlugin = {
      kind: 'data-stage',
      name: 'explodes',
      description: 'throws on the third document',
      configSchema: { describe: 'an object', parse: (v) => v as Record<string, unknown> },
      async create() {
        let n = 0;
        return {
          process() {
            if (++n === 3) throw new Error('boom');
            return { keep: true };
          },
        };
      },
    };
    const out = join(dir, 'out');
    const spec = parsePipelineSpec({ output: out, sources: [{ name: 'b', corpus: 'brown' }], stages: [{ stage: 'explodes' }] }, [failing]);
    await expect(runPipeline({ spec })).rejects.toThrow('boom');
    expect(existsSync(join(out, 'index.json'))).toBe(false);
    expect(readdirSync(out).filter((f) => f.startsWith('shard-') || f.endsWith('.tmp'))).toEqual([]);
  });
});
