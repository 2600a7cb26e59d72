import type { AlignmentStageKind } from './align-job-spec.ts';
import { ppoStage } from './ppo-stage.ts';
import { dpoStage, rewardStage, sftStage, type AlignmentStage } from './stage-kinds.ts';

/** Every stage kind an alignment job can run, by kind (a new kind: its spec schema in align-job-spec.ts and one line here). */
export const ALIGNMENT_STAGES: { [K in AlignmentStageKind]: AlignmentStage<K> } = { sft: sftStage, rm: rewardStage, dpo: dpoStage, ppo: ppoStage };
