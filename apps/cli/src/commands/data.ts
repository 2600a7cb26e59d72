import { readFile } from 'node:fs/promises';
import { SpecError } from '@unilab/core';
import { megabytesPerSecond, parsePipelineSpec, runPipeline, type PipelineReport, type ProgressUpdate, type StageStats } from '@unilab/data';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab data <pipeline.json> [--out DIR] [--quiet] [--config unilab.config.json]';

/**
 * `unilab data pipeline.json`: read the sources, run the stages, train the tokenizer, pack shards. One progress line
 * per stage as each source finishes (and every second on long sources), then the report: kept / dropped with reasons
 * and MB/s per stage, the tokenizer, the packing and the realised mixture.
 */
export async function dataCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['quiet']);
  const path = args.positionals[0];
  if (!path) throw new Error(USAGE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `pipeline file ${path} does not exist` : `pipeline file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const out = args.options.get('out');
  if (typeof out === 'string' && raw && typeof raw === 'object') (raw as Record<string, unknown>).output = out;
  // Stages and objectives come from the one registry every command builds (plus unilab.config.json's plugins).
  const registry = await registryFromArgs(args);
  const spec = parsePipelineSpec(raw, registry.ofKind('data-stage'));
  const objectives = registry.names('objective');
  spec.tokenizer.objectives.forEach((o, i) => {
    if (!objectives.includes(o)) throw new SpecError(`pipeline.tokenizer.objectives[${i}]`, `unknown objective "${o}"; available: ${objectives.join(', ')}`);
  });
  const quiet = args.options.get('quiet') === true;
  let problemsShown = 0;
  const report = await runPipeline({
    spec,
    specialTokensFor: (o) => registry.objective(o).specialTokens,
    events: {
      onProgress: (u) => {
        if (!quiet || u.done) process.stderr.write(progressLine(u) + '\n');
      },
      onProblem: (p) => {
        if (problemsShown++ < 20) process.stderr.write(`  bad input ${p.file}:${p.line}: ${p.message} (dropped)\n`);
      },
    },
  });
  console.log(formatReport(report));
  return 0;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

export function progressLine(u: ProgressUpdate): string {
  const head = `[${u.phase}${u.source ? ` ${u.source}` : ''}]${u.done ? '' : ' …'}`;
  if (u.phase === 'filter') {
    const stages = (u.stages ?? []).map((s) => `${s.stage} ${s.kept}/${s.documentsIn}`).join(' → ');
    return `${head} ${u.documents} docs, ${mb(u.bytes)} in ${u.seconds.toFixed(1)} s: ${stages}`;
  }
  if (u.phase === 'tokenizer') return `${head} trained on ${mb(u.bytes)} (${u.documents} distinct pieces) in ${u.seconds.toFixed(1)} s`;
  if (u.phase === 'encode') return `${head} ${u.documents} docs, ${mb(u.bytes)} tokenized in ${u.seconds.toFixed(1)} s`;
  return `${head} ${u.documents} docs, ${u.bytes} tokens packed in ${u.seconds.toFixed(1)} s`;
}

function reasons(s: StageStats): string {
  const list = Object.entries(s.reasons).sort((a, b) => b[1] - a[1]);
  return list.length === 0 ? '' : list.map(([r, n]) => `${r} ${n}`).join(', ');
}

export function formatReport(r: PipelineReport): string {
  const width = Math.max(5, ...r.stages.map((s) => s.stage.length));
  const lines: string[] = [`unilab data: ${r.output}`, '', `${'stage'.padEnd(width)}     in      kept   dropped     MB/s  reasons`];
  for (const s of r.stages) {
    const summary = s.summary ? `  {${Object.entries(s.summary).map(([k, v]) => `${k}: ${v}`).join(', ')}}` : '';
    lines.push(
      `${s.stage.padEnd(width)} ${String(s.documentsIn).padStart(6)} ${String(s.kept).padStart(9)} ${String(s.dropped).padStart(9)} ${megabytesPerSecond(s).toFixed(2).padStart(8)}  ${reasons(s)}${summary}`,
    );
  }
  lines.push('', 'per source:');
  for (const [name, src] of Object.entries(r.sources))
    lines.push(`  ${name}: ${src.stages.map((s) => `${s.stage} ${s.kept}/${s.documentsIn}`).join(' → ')}; kept ${src.keptDocuments} docs, ${mb(src.keptBytes)}`);
  const t = r.tokenizer;
  lines.push(
    '',
    `tokenizer: ${t.kind}, vocab ${t.vocabSize}, ${t.trained ? `trained on ${mb(t.trainingBytes)} in ${t.seconds.toFixed(1)} s` : 'loaded'}; ${t.bytesPerToken.toFixed(3)} bytes/token`,
    `encode: ${r.encode.documents} docs, ${mb(r.encode.bytes)} → ${r.encode.tokens} tokens in ${r.encode.seconds.toFixed(1)} s (${megabytesPerSecond({ bytesIn: r.encode.bytes, seconds: r.encode.seconds }).toFixed(2)} MB/s)`,
    `pack: ${r.pack.documents} docs, ${r.pack.documentTokens} tokens (+${r.pack.padTokens} pad) in ${r.pack.sequences} sequences, ${r.pack.shards} shard(s), ${r.pack.seconds.toFixed(1)} s`,
    'mixture (share of packed tokens):',
  );
  for (const [name, m] of Object.entries(r.mixture)) {
    const languages = Object.entries(m.languages).slice(0, 8).map(([l, n]) => `${l} ${n}`);
    const more = Object.keys(m.languages).length - languages.length;
    lines.push(
      `  ${name}: ${(m.share * 100).toFixed(2)}% (target ${(m.target * 100).toFixed(2)}%), ${m.tokens} tokens realised of ${m.plannedTokens} planned ` +
        `(target ${Math.round(m.targetTokens)}), ${m.documents} docs, ${m.epochs.toFixed(2)} epochs` +
        (languages.length > 0 ? `; languages ${languages.join(', ')}${more > 0 ? `, +${more} more` : ''}` : ''),
    );
  }
  const unrouted = Object.entries(r.unrouted).filter(([, n]) => n > 0);
  if (unrouted.length > 0) lines.push(`  left out (no component selects them): ${unrouted.map(([s, n]) => `${s} ${n} docs`).join(', ')}`);
  if (r.problemCount > 0) {
    lines.push('', `bad input: ${r.problemCount} (dropped)`);
    for (const p of r.problems.slice(0, 10)) lines.push(`  ${p.file}:${p.line}: ${p.message}`);
  }
  return lines.join('\n');
}
