import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCheckpoint, type DecodedCheckpoint } from '@unilab/core';
import { readFileBytes, writeFileAtomic } from './files.ts';

/** Checkpoints of a run live in <outDir>/checkpoints/step-<n>.safetensors; the newest few are kept. */
export function checkpointDir(outDir: string): string {
  return join(outDir, 'checkpoints');
}

export function checkpointPath(outDir: string, step: number): string {
  return join(checkpointDir(outDir), `step-${String(step).padStart(8, '0')}.safetensors`);
}

export async function listCheckpoints(outDir: string): Promise<string[]> {
  try {
    return (await readdir(checkpointDir(outDir)))
      .filter((f) => /^step-\d{8}\.safetensors$/.test(f))
      .sort()
      .map((f) => join(checkpointDir(outDir), f));
  } catch {
    return [];
  }
}

export async function saveCheckpoint(outDir: string, step: number, bytes: Uint8Array, keep = 3): Promise<string> {
  const path = checkpointPath(outDir, step);
  await writeFileAtomic(path, bytes);
  const all = await listCheckpoints(outDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await unlink(old).catch(() => {});
  return path;
}

export async function readCheckpoint(path: string): Promise<DecodedCheckpoint> {
  return decodeCheckpoint(await readFileBytes(path, 'checkpoint'), `checkpoint ${path}`);
}

/**
 * The newest checkpoint of a run that reads back intact (a damaged newest one falls back to the one before);
 * `onSkip` hears of each damaged one passed over, so that a resume can say so.
 */
export async function latestCheckpoint(
  outDir: string,
  onSkip: (path: string, reason: string) => void = () => {},
): Promise<{ path: string; checkpoint: DecodedCheckpoint } | null> {
  const all = await listCheckpoints(outDir);
  for (let i = all.length - 1; i >= 0; i--) {
    try {
      return { path: all[i], checkpoint: await readCheckpoint(all[i]) };
    } catch (err) {
      onSkip(all[i], (err as Error).message);
    }
  }
  return null;
}
