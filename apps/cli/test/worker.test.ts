import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';

// `unilab worker` refuses what it cannot work with before it connects anywhere, naming the flag.
describe('unilab worker', () => {
  it('needs a Redis URL and the shared data directory, and refuses bad values by flag', async () => {
    const env = process.env.UNILAB_REDIS_URL;
    delete process.env.UNILAB_REDIS_URL;
    try {
      const none = await cli('worker', '--data-dir', '/tmp');
      expect(none.code).toBe(1);
      expect(none.err).toMatch(/--redis: a worker takes its jobs from Redis/);
      expect((await cli('worker', '--redis', 'redis://127.0.0.1:1')).err).toMatch(/--data-dir: give the shared data directory/);
      expect((await cli('worker', '--redis', 'http://127.0.0.1:6379', '--data-dir', '/tmp')).err).toMatch(/--redis: expected a Redis URL/);
      expect((await cli('worker', '--redis', 'redis://127.0.0.1:1', '--data-dir', '/tmp', '--concurrency', '0')).err).toMatch(/--concurrency: expected a positive integer/);
      expect((await cli('worker', '--redis', 'redis://127.0.0.1:1', '--data-dir', '/tmp', '--lock-duration-ms', 'soon')).err).toMatch(/--lock-duration-ms: expected a number/);
    } finally {
      if (env !== undefined) process.env.UNILAB_REDIS_URL = env;
    }
  });
});
