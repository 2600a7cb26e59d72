import { defineConfig } from 'vitest/config';

// The benchmarks' own decision logic (bench/*.test.ts): pure functions and fake child processes, no timings.
export default defineConfig({
  test: { include: ['*.test.ts'], testTimeout: 30_000 },
});
