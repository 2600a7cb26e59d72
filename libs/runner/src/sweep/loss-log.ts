import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CellProgress, CellRunner } from './run-sweep.ts';

/** Each cell's training curve, one JSON line per optimizer step ({ step, loss, tokens }), in its directory. */
export const LOSS_LOG_FILE = 'loss.jsonl';

/**
 * A runner that also records every step's training loss in the cell's directory, for the report's loss curves. Lines
 * are appended as steps finish (a few per second at most), so an interrupted cell keeps its curve; a resumed one
 * appends again from its checkpoint and the reader keeps the last line of each step.
 */
export function recordingLossCurves(runner: CellRunner): CellRunner {
  return {
    run(cell, context) {
      let pending: Promise<unknown> = mkdir(context.dir, { recursive: true });
      const file = join(context.dir, LOSS_LOG_FILE);
      return runner
        .run(cell, {
          ...context,
          onStep(progress) {
            const line = `${JSON.stringify({ step: progress.step, loss: progress.loss, tokens: progress.tokens })}\n`;
            pending = pending.then(() => appendFile(file, line));
            context.onStep(progress);
          },
        })
        .then(async (outcome) => {
          await pending;
          return outcome;
        });
    },
  };
}

/** A cell's recorded curve, by step (the last record of a step wins); empty when the cell has none. */
export async function readLossCurve(cellDir: string): Promise<CellProgress[]> {
  let text: string;
  try {
    text = await readFile(join(cellDir, LOSS_LOG_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const byStep = new Map<number, CellProgress>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: CellProgress;
    try {
      record = JSON.parse(line) as CellProgress;
    } catch {
      continue; // a line cut short by a crash
    }
    if (Number.isFinite(record.step) && Number.isFinite(record.loss)) byStep.set(record.step, record);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}
