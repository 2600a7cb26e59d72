import type { TunableProjection } from '@unilab/core';
import type { Activation } from './config.ts';

/**
 * The projections LoRA may adapt in the built-in blocks, by role, with the names attention-layer.ts and
 * feed-forward.ts give their weights (layers.N.wq ... layers.N.w_down; an encoder-decoder's decoder blocks add
 * cross_wq ... cross_wo). W_gate exists with SwiGLU only (Shazeer 2020); the others in every block.
 */
export function blockProjections(config: { activation: Activation }, crossAttention: boolean): TunableProjection[] {
  return [
    { role: 'query', name: 'wq' },
    { role: 'key', name: 'wk' },
    { role: 'value', name: 'wv' },
    { role: 'output', name: 'wo' },
    ...(config.activation === 'swiglu' ? [{ role: 'ffn-gate', name: 'w_gate' } as const] : []),
    { role: 'ffn-up', name: 'w_up' },
    { role: 'ffn-down', name: 'w_down' },
    ...(crossAttention
      ? ([
          { role: 'cross-query', name: 'cross_wq' },
          { role: 'cross-key', name: 'cross_wk' },
          { role: 'cross-value', name: 'cross_wv' },
          { role: 'cross-output', name: 'cross_wo' },
        ] as const)
      : []),
  ];
}
