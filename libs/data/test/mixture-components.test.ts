import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecError } from '@unilab/core';
import { dataStagePlugins, eldLanguageStage, parsePipelineSpec, readShardDataset, readSotu, runPipeline } from '../src/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'unilab-mix-'));

/** First `count` State of the Union addresses as a .jsonl source. */
async function sotuFile(dir: string, count: number): Promise<string> {
  const path = join(dir, 'sotu.jsonl');
  writeFileSync(path, (await readSotu()).slice(0, count).map((d) => JSON.stringify({ text: d.text })).join('\n') + '\n');
  return path;
}

describe('mixture components', () => {
  it('route by language: English 0.7 / every other language 0.3 of UDHR + State of the Union, within 1%, each in its languages', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const spec = parsePipelineSpec(
      {
        output: out,
        sources: [
          { name: 'prose', path: await sotuFile(dir, 40), format: 'jsonl' },
          { name: 'multilingual', corpus: 'udhr' },
        ],
        stages: [{ stage: 'language-id' }],
        tokenizer: { vocabSize: 600, objectives: [], maxTrainingBytes: 1 << 20 },
        pack: { seqLen: 256, sequencesPerShard: 512 },
        mixture: {
          components: [
            { name: 'english', sources: ['prose', 'multilingual'], languages: ['en'], weight: 0.7 },
            { name: 'other', sources: ['multilingual'], excludeLanguages: ['en'], weight: 0.3 },
          ],
        },
      },
      dataStagePlugins,
    );
    const report = await runPipeline({ spec });
    const { english, other } = report.mixture;
    expect(Math.abs(english.share - 0.7)).toBeLessThan(0.01);
    expect(Math.abs(other.share - 0.3)).toBeLessThan(0.01);
    expect(english.tokens).toBe(english.plannedTokens);
    expect(other.tokens).toBe(other.plannedTokens);
    expect(english.languages).toEqual({ en: english.documents });
    expect(other.languages.en).toBeUndefined();
    expect(Object.values(other.languages).reduce((a, b) => a + b, 0)).toBe(other.documents);
    expect(Object.keys(other.languages).length).toBeGreaterThan(5);
    expect(report.unrouted).toEqual({ prose: 0, multilingual: 0 });

    // Read the packed documents back and identify their language again: the dataset holds exactly the report's
    // documents per language, and its English tokens are the English component's, so each component really holds
    // the languages it selects.
    const dataset = await readShardDataset(out);
    const identify = await eldLanguageStage.create(eldLanguageStage.configSchema.parse({}, 'config'));
    const documents = new Map<string, number>();
    let englishTokens = 0;
    let allTokens = 0;
    for (const doc of dataset.documents) {
      const decision = await identify.process({ id: 'x', source: 'x', text: dataset.tokenizer.decode(doc) });
      const language = decision.keep ? decision.document!.language! : 'none';
      documents.set(language, (documents.get(language) ?? 0) + 1);
      if (language === 'en') englishTokens += doc.length + 1;
      allTokens += doc.length + 1;
    }
    expect(Object.fromEntries(documents)).toEqual({ ...english.languages, ...other.languages });
    expect(englishTokens).toBe(english.tokens);
    expect(allTokens).toBe(english.tokens + other.tokens);
  });

  it('refuse a component that selects nothing, naming it', async () => {
    const dir = tmp();
    const spec = parsePipelineSpec(
      {
        output: join(dir, 'out'),
        sources: [{ name: 'prose', path: await sotuFile(dir, 5), format: 'jsonl' }],
        stages: [{ stage: 'language-id' }],
        tokenizer: { vocabSize: 300, objectives: [] },
        mixture: {
          components: [
            { name: 'english', languages: ['en'], weight: 0.9 },
            { name: 'french', languages: ['fr'], weight: 0.1 },
          ],
        },
      },
      dataStagePlugins,
    );
    const run = runPipeline({ spec });
    await expect(run).rejects.toThrow(SpecError);
    await expect(run).rejects.toThrow('pipeline.mixture.components[1]: component "french" selects no documents (source prose labelled fr) of those the stages kept');
  });

  it('name the bad component field and what would be right', () => {
    const base = {
      output: '/tmp/x',
      sources: [
        { name: 'a', corpus: 'sotu' },
        { name: 'b', corpus: 'udhr' },
      ],
      stages: [{ stage: 'language-id', sources: ['b'] }],
    };
    const fails = (components: unknown[], extra: Record<string, unknown> = {}) => {
      try {
        parsePipelineSpec({ ...base, ...extra, mixture: { components } }, dataStagePlugins);
      } catch (err) {
        expect(err).toBeInstanceOf(SpecError);
        return (err as Error).message;
      }
      throw new Error('expected the pipeline to be refused');
    };
    const english = { name: 'english', sources: ['b'], languages: ['en'], weight: 0.7 };
    expect(fails([english, { name: 'rest', sources: ['a', 'nope'], weight: 0.3 }])).toBe(
      'pipeline.mixture.components[1].sources[1]: no source is named "nope"; sources: a, b',
    );
    expect(fails([english, { name: 'all-b', sources: ['b'], weight: 0.3 }, { name: 'a', sources: ['a'], weight: 1 }])).toBe(
      'pipeline.mixture.components[1]: overlaps components[0] ("english"): both select documents of source "b" labelled "en"; a document may belong to one component only',
    );
    expect(fails([english, { name: 'not-fr', sources: ['b'], excludeLanguages: ['fr'], weight: 0.3 }, { name: 'a', sources: ['a'], weight: 1 }])).toMatch(
      /^pipeline\.mixture\.components\[1\]: overlaps components\[0\] \("english"\): both select documents of source "b" labelled "en"/,
    );
    // Disjoint language choices over one source are fine; a source no component takes is not.
    expect(fails([english, { name: 'other', sources: ['b'], excludeLanguages: ['en'], weight: 0.3 }])).toBe(
      'pipeline.sources[0]: no mixture component takes source "a"',
    );
    expect(fails([{ name: 'en', languages: ['en'], weight: 1 }])).toMatch(/^pipeline\.mixture\.components\[0\]\.languages: source "a" has no language-ID stage to label its documents/);
    expect(fails([{ name: 'x', sources: ['b'], languages: ['en'], excludeLanguages: ['fr'], weight: 1 }])).toMatch(
      /^pipeline\.mixture\.components\[0\]: give "languages" \(only these\) or "excludeLanguages" \(all but these\), not both/,
    );
    expect(fails([english, english])).toBe('pipeline.mixture.components[1].name: component name "english" is used twice');
    expect(fails([{ name: 'all', weight: 0 }])).toMatch(/^pipeline\.mixture\.components\[0\]\.weight: expected a number > 0/);
    expect(fails([{ name: 'all', weight: 1 }], { sources: [{ name: 'a', corpus: 'sotu', weight: 2 }, base.sources[1]] })).toMatch(/^pipeline\.sources\[0\]\.weight: the mixture's components set the weights/);
    expect(() =>
      parsePipelineSpec({ ...base, mixture: { components: [english, { name: 'other', sources: ['b'], excludeLanguages: ['en'], weight: 0.3 }, { name: 'a', sources: ['a'], weight: 1 }] } }, dataStagePlugins),
    ).not.toThrow();
  });
});
