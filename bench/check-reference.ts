/**
 * `npm run -s bench:reference [-- --threads N]`: the environment header and the PyTorch reference check of every
 * comparison bench (bench/reference-check.ts), alone: which BLAS, core type, threads and sgemm GFLOP/s the reference
 * would run with, and whether a ratio against it would be printed. Exits 0 either way (a refusal is an answer).
 */
import { benchSmall } from './config.ts';
import { benchEnvironment, checkReference } from './reference-check.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--threads');
const threads = at >= 0 ? Number(argv[at + 1]) : benchSmall.threads;
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got ${argv[at + 1]}`);

const machine = benchEnvironment({ threads });
const check = await checkReference(threads);
console.log(check.verdict.ratioAllowed ? 'reference check passed: a ratio against it would be printed' : 'reference check: a ratio against it would be refused');
machine.printLoadAfter();
