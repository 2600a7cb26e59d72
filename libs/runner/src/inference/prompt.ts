import type { Tokenizer } from '@unilab/core';

/**
 * A prompt as the caller means it: plain text, and special tokens only where asked for by name. Text is always
 * encoded as text, so "<eos>" or "[gMASK]" typed by a user stays those characters and never becomes a control token.
 *   ['Translate: ', { special: 'S2S' }, 'the text']
 */
export type PromptPart = string | { readonly special: string };
export type Prompt = string | readonly PromptPart[];

/** Token ids of a prompt; an unknown special token is refused with the names this tokenizer has. */
export function encodePrompt(tokenizer: Tokenizer, prompt: Prompt, path = 'prompt'): number[] {
  const parts = typeof prompt === 'string' ? [prompt] : prompt;
  const ids: number[] = [];
  parts.forEach((part, i) => {
    if (typeof part === 'string') {
      for (const id of tokenizer.encode(part)) ids.push(id);
      return;
    }
    const name = typeof part === 'object' && part !== null ? (part as { special?: unknown }).special : undefined;
    if (typeof name !== 'string')
      throw new Error(`${path}[${i}]: expected text or { special: "<token name>" }, got ${JSON.stringify(part)}`);
    const id = tokenizer.specialTokens[name];
    if (id === undefined)
      throw new Error(`${path}[${i}]: this model's tokenizer has no special token "${name}"; it has ${specialTokenList(tokenizer)}`);
    ids.push(id);
  });
  return ids;
}

/** The special-token names of a tokenizer for messages, T5's hundred sentinels as one range. */
export function specialTokenList(tokenizer: Tokenizer): string {
  const names = Object.keys(tokenizer.specialTokens);
  const sentinels = names.filter((n) => /^extra_id_\d+$/.test(n));
  const others = names.filter((n) => !/^extra_id_\d+$/.test(n));
  return [...others, ...(sentinels.length > 0 ? [`extra_id_0..extra_id_${sentinels.length - 1}`] : [])].join(', ');
}

/** `<|name|>`: how a prompt given as one string marks a special token, read only when the caller opts in (`--special`). */
const MARKER = /<\|([^|<>\s]+)\|>/g;

/** Split text at `<|name|>` markers into prompt parts (plain text is never read this way unless asked). */
export function partsFromMarkedText(text: string): PromptPart[] {
  const parts: PromptPart[] = [];
  let at = 0;
  for (const match of text.matchAll(MARKER)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push({ special: match[1] });
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/** The special tokens a prompt names by name. */
export function promptSpecials(prompt: Prompt): string[] {
  return typeof prompt === 'string' ? [] : prompt.flatMap((part) => (typeof part === 'string' ? [] : [part.special]));
}
