import { main } from './main.ts';

// The `unilab` executable (built to apps/cli/dist/unilab.js by scripts/build-cli.mjs).
main(process.argv.slice(2)).then((code) => process.exit(code));
