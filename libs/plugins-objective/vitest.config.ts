import { defineConfig } from 'vitest/config';

// The statistics tests draw ~10,000 examples each: seconds on a quiet machine, more on a shared one.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000 },
});
