import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Node with no Vulkan driver at all (VK_ICD_FILENAMES pointing nowhere), in a child process so this process's
// GPU is untouched: the edge adapter's message, and the WebGPU tests' skip rule.
const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./webgpu-fixture.ts', import.meta.url));
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

async function withoutDriver(code: string, env: Record<string, string> = {}) {
  const { UNILAB_REQUIRE_WEBGPU: _, ...rest } = process.env;
  const args = ['--conditions=development', '--import', 'tsx', '--input-type=module', '-e', code];
  return run(process.execPath, args, { env: { ...rest, ...env, VK_ICD_FILENAMES: '/nonexistent/icd.json' } }).then(
    (r) => ({ ok: true, ...r }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe.skipIf(isDeno)('no WebGPU adapter (Node, Dawn, no Vulkan driver)', () => {
  it('the WebGPU tests skip with the reason printed, unless UNILAB_REQUIRE_WEBGPU is set', async () => {
    // One string: console.log colours a bare null when FORCE_COLOR is set (as under nx).
    const code = `import { webgpuOrSkip } from ${JSON.stringify(fixture)}; console.log('device: ' + String(await webgpuOrSkip()));`;
    const skipped = await withoutDriver(code);
    expect(skipped.ok).toBe(true);
    expect(skipped.stdout).toContain('device: null');
    expect(skipped.stderr).toContain('[webgpu tests skipped] no WebGPU adapter: tried Node: Dawn via the npm `webgpu` package, over Vulkan');
    expect(skipped.stderr).toContain('install a software Vulkan driver (Mesa lavapipe)');
    expect(skipped.stderr).toContain('bash scripts/install-webgpu-ci.sh');
    const required = await withoutDriver(code, { UNILAB_REQUIRE_WEBGPU: '1' });
    expect(required.ok).toBe(false);
    expect(required.stderr).toContain('WebGpuUnavailableError: no WebGPU adapter: tried Node: Dawn');
  });
});
