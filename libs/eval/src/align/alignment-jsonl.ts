/**
 * The alignment data format, one JSON object per line: a demonstration `{"prompt", "response"}` (SFT) or a comparison
 * `{"prompt", "chosen", "rejected"}` (reward model, DPO). Other fields (`task`, `flipped`) are kept as written but not
 * required, so a user's own file needs only the three or two fields. Every line is validated; an error names the
 * file, the line number and the field.
 */
export interface Demonstration {
  prompt: string;
  response: string;
  task?: string;
}

export interface ComparisonRecord {
  prompt: string;
  chosen: string;
  rejected: string;
  task?: string;
  flipped?: boolean;
}

export type AlignmentRecord = ({ kind: 'demonstration' } & Demonstration) | ({ kind: 'comparison' } & ComparisonRecord);

export function alignmentJsonl(records: readonly (Demonstration | ComparisonRecord)[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

export function parseAlignmentJsonl(text: string, where: string): AlignmentRecord[] {
  const out: AlignmentRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${where} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${at}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${at}: expected a JSON object with "prompt" and "response", or "prompt", "chosen" and "rejected"`);
    const o = value as Record<string, unknown>;
    const text = (field: string, allowEmpty = false): string => {
      const v = o[field];
      if (typeof v !== 'string') throw new Error(`${at}: field "${field}" must be a string, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
      if (!allowEmpty && v.length === 0) throw new Error(`${at}: field "${field}" is empty`);
      return v;
    };
    const task = o.task === undefined ? undefined : text('task');
    const prompt = text('prompt');
    const isComparison = 'chosen' in o || 'rejected' in o;
    if (isComparison && 'response' in o) throw new Error(`${at}: a line is a demonstration ("response") or a comparison ("chosen", "rejected"), not both`);
    if (!isComparison) {
      out.push({ kind: 'demonstration', prompt, response: text('response'), ...(task ? { task } : {}) });
      return;
    }
    const chosen = text('chosen');
    const rejected = text('rejected');
    if (chosen === rejected) throw new Error(`${at}: "chosen" and "rejected" are the same text; a comparison needs two different responses`);
    if (o.flipped !== undefined && typeof o.flipped !== 'boolean') throw new Error(`${at}: field "flipped" must be true or false`);
    out.push({ kind: 'comparison', prompt, chosen, rejected, ...(task ? { task } : {}), ...(o.flipped !== undefined ? { flipped: o.flipped as boolean } : {}) });
  });
  if (out.length === 0) throw new Error(`${where}: no records (expected JSON lines with "prompt" and "response", or "prompt", "chosen" and "rejected")`);
  return out;
}

/** The demonstrations of a parsed file; fails naming the file when it holds comparisons only. */
export function demonstrations(records: readonly AlignmentRecord[], where: string): Demonstration[] {
  const out = records.flatMap((r) => (r.kind === 'demonstration' ? [{ prompt: r.prompt, response: r.response, ...(r.task ? { task: r.task } : {}) }] : []));
  if (out.length === 0) throw new Error(`${where}: no demonstrations (lines with "prompt" and "response")`);
  return out;
}

/** The comparisons of a parsed file; fails naming the file when it holds demonstrations only. */
export function comparisons(records: readonly AlignmentRecord[], where: string): ComparisonRecord[] {
  const out = records.flatMap(({ kind, ...r }) => (kind === 'comparison' ? [r as ComparisonRecord] : []));
  if (out.length === 0) throw new Error(`${where}: no comparisons (lines with "prompt", "chosen" and "rejected")`);
  return out;
}
