export type { InstructionExample, InstructionTask } from './instruction-task.ts';
export { ANSWER_CUE, instructionPrompt, readPrompt } from './instruction-task.ts';
export { instructionTasks, INSTRUCTION_TASK_NAMES, type InstructionSizes } from './instruction-tasks.ts';
export { preferencePairs, DEFAULT_PREFERENCE_NOISE, type PreferencePair } from './preference-pairs.ts';
export { alignmentJsonl, parseAlignmentJsonl, demonstrations, comparisons, type AlignmentRecord, type Demonstration, type ComparisonRecord } from './alignment-jsonl.ts';
export { responseBatch, type ResponseBatch } from './response-batch.ts';
export { sft, responseNll, DEFAULT_SFT_OPTIONS, type SftOptions, type SftEvents } from './sft.ts';
export { prepareDpo, comparisonBatch, comparisonFigures, dpoBackward, DEFAULT_DPO_OPTIONS, type ComparisonBatch, type DpoOptions, type DpoRun, type DpoStep, type DpoEvents, type PreferenceFigures } from './dpo.ts';
export { verifierSuccess, type VerifierSuccess } from './verifier-success.ts';
