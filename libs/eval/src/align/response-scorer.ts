import { rewardScores, type RewardModel } from './reward-model.ts';

/**
 * What PPO maximises at the end of each response: the reward model's score (InstructGPT's setting, the default) or a
 * programmatic verifier's verdict (1 correct, 0 not), a reward the policy cannot flatter, for comparison.
 */
export interface ResponseScorer {
  name: 'reward-model' | 'verifier';
  score(examples: readonly { prompt: string; response: string }[]): Promise<number[]>;
}

export function rewardModelScorer(rm: RewardModel): ResponseScorer {
  return { name: 'reward-model', score: (examples) => rewardScores(rm, examples) };
}

/** A verifier over prompts: returns null for a prompt it does not know (its response then cannot be judged). */
export type PromptVerifier = (prompt: string, response: string) => boolean | null;

export function verifierScorer(verify: PromptVerifier): ResponseScorer {
  return {
    name: 'verifier',
    async score(examples) {
      return examples.map(({ prompt, response }) => {
        const verdict = verify(prompt, response);
        if (verdict === null) throw new Error(`ppo: the verifier reward has no verifier for the prompt ${JSON.stringify(prompt.slice(0, 60))}`);
        return verdict ? 1 : 0;
      });
    },
  };
}

/**
 * A verifier from demonstrations: a response is correct when it equals the prompt's demonstrated response (white
 * space at the ends and case ignored). For the bundled instruction tasks (copy, reverse, n-th word, cloze, genre)
 * each prompt has exactly one correct answer, so this is their verifier, and it works on a user's file as well.
 */
export function referenceVerifier(demos: readonly { prompt: string; response: string }[]): PromptVerifier {
  const key = new Map(demos.map((d) => [d.prompt, d.response.trim().toLowerCase()]));
  return (prompt, response) => {
    const want = key.get(prompt);
    return want === undefined ? null : want === response.trim().toLowerCase();
  };
}
