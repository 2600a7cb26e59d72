import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { REPO_ROOT, TOKEN, makeDataDir, removeTempDirs, startTestServer, tinySpec } from './helpers.ts';

let dataDir: string;
let server: RunningServer;

beforeAll(async () => {
  dataDir = await makeDataDir();
  ({ server } = await startTestServer(dataDir));
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** `unilab <args>` as a user runs it; resolves with its exit code and output. */
async function unilab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', '--conditions=development', 'apps/cli/src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, UNILAB_API_TOKEN: TOKEN, UNILAB_SERVER: server.url },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('CLI: unilab submit, jobs and run', () => {
  it('submit prints the job id, follows its events to completion, and jobs lists it', async () => {
    const specPath = join(dataDir, 'tiny.json');
    await writeFile(specPath, JSON.stringify(tinySpec({ name: 'from-cli' })));
    const submitted = await unilab('submit', specPath);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.split('\n')[0];
    expect(id).toMatch(/^job_[0-9a-f]{16}$/);
    expect(submitted.stderr).toMatch(/status running: started/);
    expect(submitted.stderr).toMatch(/step 12\/12 {2}loss \d\.\d{4}/);
    expect(submitted.stdout).toMatch(new RegExp(`unilab: job ${id} completed at step 12/12, loss \\d\\.\\d{4}`));

    const listed = await unilab('jobs');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+STAGE\s+STEP/);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+from-cli\\s+completed\\s+-\\s+12/12`));
  });

  it('submit refuses a bad spec with the path of the field, and exit code 1', async () => {
    const specPath = join(dataDir, 'bad.json');
    await writeFile(specPath, JSON.stringify(tinySpec({ train: { lr: 'fast' } })));
    const refused = await unilab('submit', specPath);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/unilab submit: spec\.train\.lr: expected a number > 0 and <= 1, got "fast"/);
  });

  it('run trains a two-stage job in-process, without a server', async () => {
    const { steps: _steps, ...train } = tinySpec().train;
    const specPath = join(dataDir, 'staged.json');
    const outDir = join(dataDir, 'runs', 'staged');
    await writeFile(
      specPath,
      JSON.stringify({
        ...tinySpec({ name: 'staged' }),
        data: { corpus: join(dataDir, 'corpora', 'sotu-small'), heldOutFraction: 0.2 },
        train,
        stages: [
          { name: 'one', steps: 4 },
          { name: 'two', steps: 4, train: { lr: 1e-3, minLr: 1e-4 } },
        ],
      }),
    );
    const ran = await unilab('run', specPath, '--out', outDir);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/job "staged": 2 stage\(s\), 8 steps/);
    expect(ran.stderr).toMatch(/stage 2 "two", attempt 1 \(seed 7\): 4 steps from job step 4/);
    expect(ran.stdout).toMatch(/done at step 8; checkpoint .*stage-1-two\/attempt-0\/checkpoints\/step-00000004\.safetensors/);
    expect(existsSync(join(outDir, 'progress.json'))).toBe(true);
  });
});
