import { encodingMismatch, type ModelEnvironment, type PositionalEncoding, type PositionalEncodingChoice, type PositionalEncodingPlugin, type PositionalStack } from '@unilab/core';
import { builtinPositionalEncodings } from './builtin.ts';

/**
 * Build the encoding an architecture config chooses, from the registry the runner passes in the environment (or this
 * library's own encodings when a model is built without one, as tests do). Spec validation has already refused
 * pairs that cannot work; this repeats the check for direct callers.
 */
export function resolvePositionalEncoding(
  env: ModelEnvironment,
  architecture: string,
  choice: PositionalEncodingChoice,
  stack: PositionalStack,
): PositionalEncoding {
  const plugin: PositionalEncodingPlugin<any> | undefined = env.positionalEncoding
    ? env.positionalEncoding(choice.name)
    : builtinPositionalEncodings.find((p) => p.name === choice.name);
  if (!plugin)
    throw new Error(`unknown positional encoding "${choice.name}"; available: ${builtinPositionalEncodings.map((p) => p.name).join(', ')}`);
  const why = encodingMismatch(plugin, { positionDims: stack.positionDims ?? 1, attention: stack.attention });
  if (why) throw new Error(`positional encoding "${plugin.name}" cannot serve architecture "${architecture}": ${why}`);
  return plugin.create(plugin.configSchema.parse(choice.config, 'model.config.positionalEncoding.config'), stack);
}
