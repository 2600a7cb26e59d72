import type { Tokenizer } from '@unilab/core';

/**
 * A prompt is plain text, or a list of segments when it must hold special tokens (a sentinel for a T5-style input,
 * a mask): text segments are encoded as text, special segments name a special token of the model's tokenizer.
 * Plain text is never searched for special tokens, so "<|eos|>" typed in a prompt stays those seven characters.
 */
export type PromptSegment = { text: string } | { special: string };
export type Prompt = string | readonly PromptSegment[];

/** Token ids of a prompt; an unknown special token is refused, naming the ones the tokenizer has. */
export function encodePrompt(tokenizer: Tokenizer, prompt: Prompt): number[] {
  if (typeof prompt === 'string') return Array.from(tokenizer.encode(prompt));
  const ids: number[] = [];
  for (const [i, segment] of prompt.entries()) {
    if ('special' in segment) {
      const id = tokenizer.specialTokens[segment.special];
      if (id === undefined)
        throw new Error(`prompt[${i}]: unknown special token "${segment.special}"; this model's tokenizer has ${Object.keys(tokenizer.specialTokens).join(', ')}`);
      ids.push(id);
    } else ids.push(...tokenizer.encode(segment.text));
  }
  return ids;
}

/** `<|name|>`: how a prompt given as one string marks a special token when the caller asks for markers (`--special`). */
const MARKER = /<\|([^|<>\s]+)\|>/g;

/** Split text at `<|name|>` markers into segments (only when the caller opted in: markers are never read otherwise). */
export function segmentsFromMarkedText(text: string): PromptSegment[] {
  const segments: PromptSegment[] = [];
  let at = 0;
  for (const match of text.matchAll(MARKER)) {
    if (match.index > at) segments.push({ text: text.slice(at, match.index) });
    segments.push({ special: match[1] });
    at = match.index + match[0].length;
  }
  if (at < text.length) segments.push({ text: text.slice(at) });
  return segments;
}

/** The special tokens a prompt names (generation lets the answer use them too: sentinels pair up). */
export function promptSpecials(prompt: Prompt): string[] {
  return typeof prompt === 'string' ? [] : prompt.flatMap((s) => ('special' in s ? [s.special] : []));
}
