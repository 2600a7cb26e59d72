import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeXml } from './svg-plots.ts';
import type { StudyReport } from './study-report.ts';

/** Written into the report directory: report.md (links the SVGs), report.html (one self-contained page), the SVGs. */
export async function writeStudyReport(dir: string, report: StudyReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFile(join(dir, name), text.endsWith('\n') ? text : `${text}\n`);
    files.push(join(dir, name));
  };
  await write('report.md', report.markdown);
  await write('report.html', reportHtml(report));
  for (const [name, svg] of report.plots) await write(name, svg);
  return files;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f3f3f3}
code{background:#f5f5f5;padding:0 3px}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:1.6em}figure{margin:1em 0}svg{max-width:100%;height:auto}`;

/**
 * The report's Markdown as one HTML page: the subset of Markdown the report writes (headings, paragraphs, lists,
 * tables, **bold**, `code`, images), with each image's SVG inlined, no script, no external resource.
 */
export function reportHtml(report: StudyReport): string {
  const inline = (text: string) =>
    escapeXml(text)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  const lines = report.markdown.split('\n');
  const out: string[] = [];
  let title = 'report';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = /^(#{1,4}) (.*)$/.exec(line);
    const image = /^!\[([^\]]*)\]\(([^)]+)\)$/.exec(line);
    if (heading) {
      if (heading[1] === '#') title = heading[2];
      out.push(`<h${heading[1].length}>${inline(heading[2])}</h${heading[1].length}>`);
    } else if (image) {
      const svg = report.plots.get(image[2]);
      out.push(svg ? `<figure>${svg}</figure>` : `<p>${inline(image[1])}: missing plot ${inline(image[2])}</p>`);
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].slice(1, -1).split(' | ').map((c) => c.trim().replace(/^\|/, '').trim()));
      i--;
      const [head, , ...body] = rows;
      out.push(`<table><thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead><tbody>`);
      for (const r of body) out.push(`<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`);
      out.push('</tbody></table>');
    } else if (line.startsWith('- ')) {
      out.push('<ul>');
      for (; i < lines.length && lines[i].startsWith('- '); i++) out.push(`<li>${inline(lines[i].slice(2))}</li>`);
      i--;
      out.push('</ul>');
    } else if (line.trim() !== '') out.push(`<p>${inline(line)}</p>`);
  }
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>${STYLE}</style></head><body>\n${out.join('\n')}\n</body></html>`;
}
