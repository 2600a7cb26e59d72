// @unilab/eval: the evaluation suite shared by `unilab eval`, the API's eval jobs and `unilab sweep`.
export * from './tasks/index.ts';
export * from './finetune/index.ts';
