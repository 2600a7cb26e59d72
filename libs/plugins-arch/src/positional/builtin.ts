import type { PositionalEncodingPlugin } from '@unilab/core';
import { alibi } from './alibi.ts';
import { glm2d } from './glm-2d.ts';
import { learnedAbsolute } from './learned-absolute.ts';
import { noPositions } from './none.ts';
import { rope } from './rope.ts';
import { rope2d } from './rope-2d.ts';
import { sinusoidal } from './sinusoidal.ts';
import { t5Relative } from './t5-relative.ts';

/** Every positional encoding this library provides, for an explicit registry. */
export const builtinPositionalEncodings: readonly PositionalEncodingPlugin<any>[] = [
  rope,
  learnedAbsolute,
  sinusoidal,
  alibi,
  t5Relative,
  glm2d,
  rope2d,
  noPositions,
];
