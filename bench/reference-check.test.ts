import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyEnv,
  blasKind,
  coreTypeCandidates,
  coreTypeForCpu,
  judgeReference,
  parseCpuinfo,
  pickCandidate,
  probeReference,
  ratioOrRefusal,
  type ProbeOutcome,
  type TorchProbe,
} from './reference-check.ts';

const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3';
const REFERENCE = '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0';

/** A probe as bench/torch_probe.py prints it for a healthy OpenBLAS reference on 2 threads. */
function probe(over: Partial<TorchProbe> = {}, openblasThreads = 2): TorchProbe {
  return {
    torch: '1.13.0a0',
    numpy: '1.24.2',
    python: '3.11.2',
    torchThreads: 2,
    buildBlas: { BLAS_INFO: 'generic' },
    sgemmFrom: OPENBLAS,
    libraries: [{ path: OPENBLAS, resolved: OPENBLAS }],
    openblas: { library: OPENBLAS, corename: 'SkylakeX', config: 'OpenBLAS 0.3.21 DYNAMIC_ARCH SkylakeX', threads: openblasThreads },
    threadpools: [],
    gflops: 60,
    env: {},
    ...over,
  };
}

// Flag sets of the two CPUs of BENCH.md (abridged /proc/cpuinfo flags).
const XEON = 'fpu sse2 ssse3 sse4_1 sse4_2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl'.split(' ');
const EPYC = 'fpu sse2 ssse3 sse4_1 sse4_2 avx fma avx2 sha_ni'.split(' ');

describe('OpenBLAS core type from the CPU', () => {
  it('SkylakeX only with AVX-512 F/BW/DQ/VL, Haswell with AVX2+FMA, none below', () => {
    expect(coreTypeForCpu(XEON)).toBe('SkylakeX');
    expect(coreTypeForCpu(EPYC)).toBe('Haswell');
    // AVX-512F alone (Knights Landing) lacks the BW/VL instructions SkylakeX kernels use.
    expect(coreTypeForCpu([...EPYC, 'avx512f'])).toBe('Haswell');
    expect(coreTypeForCpu(['sse2', 'avx'])).toBeUndefined();
    expect(coreTypeForCpu(['avx2'])).toBeUndefined();
  });

  it('never offers SkylakeX on an AVX2-only EPYC, whatever the environment says', () => {
    for (const env of [{}, { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '524288' }]) {
      const forced = coreTypeCandidates(EPYC, env).map((c) => c.env.OPENBLAS_CORETYPE);
      expect(forced).not.toContain('SkylakeX');
    }
  });

  it('probes the machine as it is first, the flags core type next, and unsets both variables together when the machine set them', () => {
    const plain = coreTypeCandidates(XEON, {});
    expect(plain.map((c) => c.env)).toEqual([{}, { OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_L2_SIZE: undefined }]);
    const preset = coreTypeCandidates(XEON, { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '524288' });
    expect(preset.map((c) => c.env)).toEqual([
      {},
      { OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_L2_SIZE: undefined },
      { OPENBLAS_CORETYPE: undefined, OPENBLAS_L2_SIZE: undefined },
    ]);
    // Already what the flags give: no duplicate candidate.
    expect(coreTypeCandidates(XEON, { OPENBLAS_CORETYPE: 'SkylakeX' }).map((c) => c.env.OPENBLAS_CORETYPE)).toEqual([undefined, undefined]);
    expect(coreTypeCandidates(['sse2'], {})).toHaveLength(1);
  });

  it('applies a candidate to the environment: strings set, undefined removes', () => {
    const env = applyEnv({ OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_L2_SIZE: undefined }, { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1', PATH: '/bin' });
    expect(env).toEqual({ OPENBLAS_CORETYPE: 'SkylakeX', PATH: '/bin' });
  });
});

describe('picking the probed candidate', () => {
  const c = (label: string) => ({ label, env: {} });
  it('keeps the fastest OpenBLAS candidate and skips one that crashed', () => {
    const outcomes: ProbeOutcome[] = [
      { candidate: c('detected'), probe: probe({ gflops: 25 }) },
      { candidate: c('SkylakeX'), error: 'killed by SIGILL (illegal instruction: a core type this CPU lacks)' },
      { candidate: c('unset'), probe: probe({ gflops: 40 }) },
    ];
    expect(pickCandidate(outcomes)?.candidate.label).toBe('unset');
  });
  it('prefers OpenBLAS to a faster-looking other BLAS, falls back to what ran, and gives nothing when all crashed', () => {
    expect(pickCandidate([{ candidate: c('ref'), probe: probe({ sgemmFrom: REFERENCE, gflops: 99 }) }, { candidate: c('ob'), probe: probe({ gflops: 20 }) }])?.candidate.label).toBe('ob');
    expect(pickCandidate([{ candidate: c('ref'), probe: probe({ sgemmFrom: REFERENCE, gflops: 2 }) }])?.candidate.label).toBe('ref');
    expect(pickCandidate([{ candidate: c('a'), error: 'killed by SIGILL' }])).toBeUndefined();
  });
});

describe('judging the reference', () => {
  it('allows a ratio against OpenBLAS on the asked threads at a plausible speed', () => {
    expect(judgeReference(probe(), 2)).toEqual({ ratioAllowed: true, reasons: [] });
  });
  it('refuses the reference BLAS with the install command', () => {
    const v = judgeReference(probe({ sgemmFrom: REFERENCE, gflops: 1.8 }), 2);
    expect(v.ratioAllowed).toBe(false);
    expect(v.reasons[0]).toMatch(/reference BLAS .*apt-get install -y libopenblas0-pthread/);
    expect(v.reasons.some((r) => r.includes('1.8 GFLOP/s'))).toBe(true);
  });
  it('refuses an unknown or unexpected BLAS', () => {
    expect(judgeReference(probe({ sgemmFrom: null }), 2).reasons[0]).toMatch(/cannot tell which BLAS/);
    expect(judgeReference(probe({ sgemmFrom: '/opt/intel/libmkl_rt.so.2' }), 2).reasons[0]).toMatch(/mkl/);
  });
  it('refuses fewer threads than asked, on the PyTorch or the OpenBLAS side', () => {
    expect(judgeReference(probe({}, 1), 2).reasons).toEqual([expect.stringMatching(/OpenBLAS runs 1 thread\(s\), 2 asked/)]);
    expect(judgeReference(probe({ torchThreads: 1 }), 2).reasons).toEqual([expect.stringMatching(/PyTorch runs 1 thread\(s\), 2 asked/)]);
    expect(judgeReference(probe({}, 4), 2).ratioAllowed).toBe(true);
  });
  it('refuses an implausibly slow (or unmeasured) matmul', () => {
    expect(judgeReference(probe({ gflops: 3 }), 2).reasons).toEqual([expect.stringMatching(/3\.0 GFLOP\/s, under the 5/)]);
    expect(judgeReference(probe({ gflops: Number.NaN }), 2).ratioAllowed).toBe(false);
  });
  it('prints the ratio only for a passed check, and says why otherwise', () => {
    const ok = { available: true, env: {}, verdict: { ratioAllowed: true, reasons: [] }, lines: [] };
    expect(ratioOrRefusal(ok, () => 'ratio 1.10x')).toBe('ratio 1.10x');
    expect(ratioOrRefusal(ok, () => 'ratio', 'killed by SIGILL')).toMatch(/^no ratio: the PyTorch reference crashed \(killed by SIGILL\)/);
    expect(ratioOrRefusal({ ...ok, verdict: judgeReference(probe({ sgemmFrom: REFERENCE }), 2) }, () => 'ratio')).toMatch(/^no ratio:[\s\S]*libopenblas0-pthread/);
    expect(ratioOrRefusal(undefined, () => 'ratio')).toMatch(/did not run/);
  });
});

describe('the machine', () => {
  it('reads model, logical CPUs, physical cores and flags from /proc/cpuinfo', () => {
    const block = (n: number, core: number) => `processor\t: ${n}\nmodel name\t: AMD EPYC 9B14\nphysical id\t: 0\ncore id\t\t: ${core}\nflags\t\t: ${EPYC.join(' ')}\n`;
    const info = parseCpuinfo([block(0, 0), block(1, 0), block(2, 1), block(3, 1)].join('\n'));
    expect(info).toEqual({ model: 'AMD EPYC 9B14', logical: 4, cores: 2, flags: EPYC });
    expect(blasKind(OPENBLAS)).toBe('openblas');
    expect(blasKind(REFERENCE)).toBe('reference');
  });

  it('reports a reference that crashes instead of throwing', async () => {
    // A stand-in interpreter that dies the way a forced core type does on a CPU without its instructions.
    const dir = await mkdtemp(join(tmpdir(), 'unilab-reference-check-'));
    try {
      const crashing = join(dir, 'python3');
      await writeFile(crashing, '#!/bin/sh\nkill -ILL $$\n');
      await chmod(crashing, 0o755);
      const outcome = await probeReference(2, { label: 'SkylakeX', env: { OPENBLAS_CORETYPE: 'SkylakeX' } }, crashing);
      expect(outcome.probe).toBeUndefined();
      expect(outcome.error).toMatch(/killed by SIGILL \(illegal instruction/);
      const failing = join(dir, 'python3-exit');
      await writeFile(failing, '#!/bin/sh\necho "ModuleNotFoundError: No module named torch" >&2\nexit 1\n');
      await chmod(failing, 0o755);
      expect((await probeReference(2, { label: 'x', env: {} }, failing)).error).toBe('exited with 1: ModuleNotFoundError: No module named torch');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
