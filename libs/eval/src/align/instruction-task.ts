/**
 * An instruction task with a programmatic checker, the stand-in for a human labeller that alignment needs (InstructGPT's
 * demonstrations and comparisons): every prompt has a correct response and a verifier that says whether any response
 * is correct. Prompts end with "\nAnswer:" and responses start with one space, so a prompt and its response read as
 * one text the way the few-shot prompts do.
 */
export interface InstructionExample {
  task: string;
  prompt: string;
  /** A response the verifier accepts. */
  response: string;
  /** A plausible response the verifier rejects (the other side of a preference pair). */
  wrong: string;
}

export interface InstructionTask {
  name: string;
  description: string;
  train: InstructionExample[];
  heldOut: InstructionExample[];
  /** Whether `response` answers `prompt` correctly (leading and trailing white space ignored). */
  verify(prompt: string, response: string): boolean;
}

export const ANSWER_CUE = '\nAnswer:';

/** The prompt for an instruction and its input. */
export function instructionPrompt(instruction: string, input: string): string {
  return `${instruction}: ${input}${ANSWER_CUE}`;
}

/** The instruction and input of a prompt this module wrote, or null. */
export function readPrompt(prompt: string): { instruction: string; input: string } | null {
  if (!prompt.endsWith(ANSWER_CUE)) return null;
  const body = prompt.slice(0, -ANSWER_CUE.length);
  const colon = body.indexOf(': ');
  return colon < 0 ? null : { instruction: body.slice(0, colon), input: body.slice(colon + 2) };
}
