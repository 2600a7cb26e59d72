import { describe, expect, it } from 'vitest';
import * as evalLib from '../src/index.ts';

describe('@unilab/eval', () => {
  it('loads as a workspace package', () => {
    expect(typeof evalLib).toBe('object');
  });
});
