import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The Hono app speaks web-standard Request/Response only: file system, workers and SQLite reach it through the
// runtime adapter (server.ts wires them in from node/ or deno/). A `node:` import here would tie it to one runtime.
describe('the HTTP app touches no runtime', () => {
  it.each(['app.ts', 'eval-routes.ts', 'cross-site.ts', 'openapi.ts'])('%s imports nothing from node:', async (file) => {
    const source = await readFile(join(import.meta.dirname, '..', 'src', file), 'utf8');
    expect(source.match(/from ['"]node:[^'"]+['"]/g) ?? []).toEqual([]);
  });
});
