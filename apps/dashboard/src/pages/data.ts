import { fmt, h } from '../dom.ts';
import type { Page } from '../main.ts';

/** The parts of `unilab data`'s report.json this page shows (libs/data PipelineReport). */
interface StageStats {
  stage: string;
  documentsIn: number;
  bytesIn: number;
  kept: number;
  dropped: number;
  reasons: Record<string, number>;
  seconds: number;
}
interface PipelineReport {
  output: string;
  sources: Record<string, { stages: StageStats[]; keptDocuments: number; keptBytes: number }>;
  stages: StageStats[];
  problemCount: number;
  problems: { file?: string; line?: number; reason?: string }[];
  tokenizer: { kind: string; vocabSize: number; bytesPerToken: number };
  pack: { documents: number; sequences: number; shards: number; documentTokens: number; padTokens: number };
  mixture: Record<string, { documents: number; tokens: number; target: number; share: number; epochs: number; languages: Record<string, number> }>;
}

/**
 * A data pipeline's report (`unilab data pipeline.json` writes report.json beside the shards): documents in and out
 * of each stage with the reasons for what was dropped, per source, and the realised mixture with its languages.
 * The file is read in the browser; nothing is sent to the server.
 */
export const dataPage: Page = (ctx) => {
  const { main } = ctx;
  const input = h('input', { id: 'report-file', type: 'file', accept: '.json,application/json' });
  const out = h('div', { 'aria-live': 'polite' });
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    try {
      out.replaceChildren(...renderReport(checkReport(JSON.parse(await file.text())), file.name));
    } catch (err) {
      ctx.fail(new Error(`${file.name}: ${(err as Error).message}`));
    }
  });
  main.append(
    h('h1', {}, 'Data'),
    h('p', {}, 'Open the ', h('code', {}, 'report.json'), ' that ', h('code', {}, 'unilab data pipeline.json'), ' wrote in its output directory.'),
    h('div', { class: 'toolbar' }, h('label', { for: 'report-file' }, 'Pipeline report'), input),
    out,
  );
};

function checkReport(value: unknown): PipelineReport {
  const r = value as Partial<PipelineReport>;
  if (!r || typeof r !== 'object' || !Array.isArray(r.stages) || !r.sources || !r.mixture) throw new Error('not a pipeline report: expected stages, sources and mixture (report.json from unilab data)');
  return r as PipelineReport;
}

const reasons = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmt.int(v)}`)
    .join(', ') || '—';

function stageTable(caption: string, stages: StageStats[]): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'stages-table' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...['Stage', 'Documents in', 'Kept', 'Dropped', 'Kept of input', 'Reasons', 'MB/s'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...stages.map((s) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, s.stage),
            h('td', { class: 'num' }, fmt.int(s.documentsIn)),
            h('td', { class: 'num' }, fmt.int(s.kept)),
            h('td', { class: 'num' }, fmt.int(s.dropped)),
            h('td', {}, h('meter', { min: 0, max: 1, value: s.documentsIn ? s.kept / s.documentsIn : 0, 'aria-label': `${s.stage} kept` }), ` ${s.documentsIn ? ((s.kept / s.documentsIn) * 100).toFixed(1) : '—'}%`),
            h('td', {}, reasons(s.reasons)),
            h('td', { class: 'num' }, s.seconds > 0 ? (s.bytesIn / 1e6 / s.seconds).toFixed(1) : '—'),
          ),
        ),
      ),
    ),
  );
}

function renderReport(r: PipelineReport, name: string): HTMLElement[] {
  return [
    h('h2', {}, `${name}: ${r.output}`),
    h(
      'p',
      {},
      `Tokenizer ${r.tokenizer.kind}, vocabulary ${fmt.int(r.tokenizer.vocabSize)}, ${r.tokenizer.bytesPerToken.toFixed(2)} bytes per token. Packed ${fmt.int(r.pack.documents)} documents into ` +
        `${fmt.int(r.pack.sequences)} sequences in ${r.pack.shards} shards (${fmt.int(r.pack.documentTokens)} tokens, ${fmt.int(r.pack.padTokens)} padding). ${fmt.int(r.problemCount)} unreadable inputs.`,
    ),
    stageTable('All sources', r.stages),
    h('h2', {}, 'Per source'),
    ...Object.entries(r.sources).map(([source, s]) => stageTable(`${source}: kept ${fmt.int(s.keptDocuments)} documents, ${(s.keptBytes / 1e6).toFixed(2)} MB`, s.stages)),
    h('h2', {}, 'Mixture and languages'),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['Member', 'Share', 'Target', 'Documents', 'Tokens', 'Epochs', 'Languages (documents)'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...Object.entries(r.mixture).map(([member, m]) => {
            const langs = Object.entries(m.languages).sort((a, b) => b[1] - a[1]);
            return h(
              'tr',
              {},
              h('th', { scope: 'row' }, member),
              h('td', { class: 'num' }, `${(m.share * 100).toFixed(2)}%`),
              h('td', { class: 'num' }, `${(m.target * 100).toFixed(2)}%`),
              h('td', { class: 'num' }, fmt.int(m.documents)),
              h('td', { class: 'num' }, fmt.int(m.tokens)),
              h('td', { class: 'num' }, m.epochs.toFixed(2)),
              h('td', { class: 'langs' }, langs.length === 0 ? '—' : `${langs.map(([l, n]) => `${l} ${n}`).join(', ')} (${langs.length} languages)`),
            );
          }),
        ),
      ),
    ),
  ];
}
