/**
 * How a model reads a prompt at inference time (scoring, evaluation, generation), declared by the objective that
 * trained it: a model answers best in the format its training batches had (the eos that ended its inputs, the
 * sentinel or mask token that stood for the missing text, UL2's paradigm token, GLM's 2D positions). Layouts name
 * special tokens by their tokenizer names ("eos", "extra_id_0", "S2S", "gMASK"); the runner resolves them.
 *
 * Text to continue ("input" → "target"):
 *   causal       one causal stream, input then target (GPT; the first input token is never predicted)
 *   prefix       one stack: inputPrefix input inputSuffix targetPrefix target, the part before targetPrefix seen
 *                bidirectionally (prefix LM, the decoder-only form of UL2's seq2seq objectives); `glm2d` gives the
 *                target GLM's Part B positions (the position of the last input-side token, block positions 1, 2, ...)
 *   encoder      the encoder reads inputPrefix input inputSuffix; the decoder starts from pad (T5's start token),
 *                reads targetPrefix, then generates the target
 *   decoder-lm   encoder-decoder whose decoder is a plain LM: the encoder reads `encoderInput` (eos: T5's empty
 *                input), the decoder reads pad, then the input, then generates the target
 *   mask-query   a cloze model (UniLM's decoder-only form): each target token is predicted at a [MASK] placed after
 *                the tokens before it; `bidirectionalInput` makes inputPrefix input inputSuffix a bidirectional prefix
 *
 * Spans to fill in a text:
 *   sentinels    T5 span corruption: each span replaced by its sentinel in the input (after inputPrefix, ended by
 *                eos), the target is sentinel + span for each span (single stack or encoder-decoder by architecture)
 *   blanks       GLM: Part A with one `mask` token per span, Part B [sop] span [eop] per span in text order
 *   cloze        masked LM: every span token shown as `mask`, all predicted at once from the whole text (BERT, UniLM's
 *                bidirectional mode); on an encoder-decoder the encoder reads the masked text + eos and the decoder
 *                re-reads the text, predicting the masked tokens
 */
export type ContinuationLayout =
  | { kind: 'causal' }
  | { kind: 'prefix'; inputPrefix: readonly string[]; inputSuffix: readonly string[]; targetPrefix: readonly string[]; glm2d: boolean }
  | { kind: 'encoder'; inputPrefix: readonly string[]; inputSuffix: readonly string[]; targetPrefix: readonly string[] }
  | { kind: 'decoder-lm'; encoderInput: readonly string[] }
  | { kind: 'mask-query'; mask: string; bidirectionalInput: boolean; inputSuffix: readonly string[] };

export type InfillingLayout =
  | { kind: 'sentinels'; inputPrefix: readonly string[] }
  | { kind: 'blanks'; mask: string }
  | { kind: 'cloze'; mask: string };

/**
 * What a model trained by one objective does best at inference, per kind of task (UL2's reading, Tay et al. 2022
 * §3.1.2): `lm` continues a text, `seq2seq` maps an input to a target, `infilling` fills spans (absent: the
 * objective never trained it; evaluation then says which fallback it used).
 */
export interface InferencePresentation {
  lm?: ContinuationLayout;
  seq2seq?: ContinuationLayout;
  infilling?: InfillingLayout;
  /**
   * UL2's mode switching (Tay et al. 2022 §3.1.3): paradigm name (NLU, NLG, S2S) → the tokens that lead an input in
   * that mode. Generation asked for a mode lays the prompt out as the objective's examples: mode tokens, input, eos,
   * then the target.
   */
  modes?: Readonly<Record<string, readonly string[]>>;
}

export type InferenceTask = 'lm' | 'seq2seq' | 'infilling';
