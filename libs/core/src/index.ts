export * from './batch.ts';
export * from './rng.ts';
export * from './config/schema.ts';
export * from './plugins/objective.ts';
