import { describe, expect, it } from 'vitest';

// CI runs part of the suite a second time under Deno; this proves it really is Deno there, not Node.
describe('runtime', () => {
  it('is the runtime CI asked for', () => {
    const expected = process.env.UNILAB_EXPECT_RUNTIME ?? 'node';
    const actual = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'deno' : 'node';
    expect(actual).toBe(expected);
  });
});
