import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiClient, loadServerConfig, startServerHere, type RunningServer } from '@unilab/api';
import { readSotu } from '@unilab/data';
// The store itself, to lay down a thousand jobs and a 100,000-step curve (the API's own tests do the same).
import { nodeRuntime } from '../../api/src/node/runtime.ts';
import { transaction } from '../../api/src/sql.ts';
import { JobStore } from '../../api/src/store.ts';

/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by playwright-core) against the real server:
 * the token form, a job submitted from the page whose curve grows live, cancel and resume from the page, the
 * comparison table, a data report, keyboard use, labels and contrast, and a phone-width layout. Any console error
 * or uncaught exception in the page fails the test. Screenshots of every page, and two at phone width (390 px).
 */
const DASHBOARD = resolve(fileURLToPath(new URL('..', import.meta.url)));
const REPO = resolve(DASHBOARD, '../..');
/** The committed screenshots are refreshed with UNILAB_UPDATE_SCREENSHOTS=1; otherwise they go to a scratch folder. */
const SHOTS = process.env.UNILAB_UPDATE_SCREENSHOTS === '1' ? join(REPO, 'docs/dashboard') : join(tmpdir(), 'unilab-dashboard-screenshots');
const TOKEN = 'browser-test-token-42';
const CHROMIUM = [process.env.UNILAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
const REQUIRED = process.env.UNILAB_REQUIRE_BROWSER === '1';

if (!CHROMIUM) {
  if (REQUIRED) throw new Error('UNILAB_REQUIRE_BROWSER=1 but no Chromium at /usr/bin/chromium (bash scripts/install-chromium-ci.sh installs it; UNILAB_CHROMIUM names another)');
  console.log('dashboard browser test skipped: no Chromium found (apt-get install chromium, or set UNILAB_CHROMIUM); UNILAB_REQUIRE_BROWSER=1 makes this a failure');
}

/** A tiny decoder on a few State of the Union addresses: fast steps on the reference backend, checkpoints often. */
function tinySpec(name: string, steps: number, objective = 'clm') {
  return {
    name,
    seed: 3,
    backend: 'reference',
    data: { corpus: 'corpora/sotu-small', heldOutFraction: 0.2 },
    model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
    objective: { name: objective },
    train: { steps, batchSize: 2, seqLen: 16, lr: 3e-3, warmupSteps: 2, evalEvery: 10, evalBatches: 1, checkpointEvery: 10 },
    samplePrompts: [],
  };
}

describe.skipIf(!CHROMIUM)('dashboard in headless Chromium', () => {
  let dataDir: string;
  let server: RunningServer;
  let client: ApiClient;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(DASHBOARD, 'dist/index.html'))) execFileSync('npx', ['vite', 'build'], { cwd: DASHBOARD, stdio: 'inherit' });
    dataDir = await mkdtemp(join(tmpdir(), 'unilab-dashboard-'));
    const corpus = join(dataDir, 'corpora', 'sotu-small');
    await mkdir(corpus, { recursive: true });
    const docs = (await readSotu()).slice(0, 4);
    await Promise.all(docs.map((d, i) => writeFile(join(corpus, `${i}.txt`), d.text.slice(0, 8000))));
    await mkdir(SHOTS, { recursive: true });
    const config = await loadServerConfig({ overrides: { dataDir, port: 0, token: TOKEN, shutdownGraceMs: 2000 } });
    server = await startServerHere(config);
    client = new ApiClient(server.url, TOKEN);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('asks for the token once, submits a job, draws its curve live, cancels and resumes it, compares jobs, shows a data report; no console errors', async () => {
    // Load: the token form first (the server wants one), measured as the browser saw it.
    await page.goto(`${server.url}/`);
    await page.getByLabel('Token').waitFor();
    const load = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      return { loadMs: nav.loadEventEnd - nav.startTime, transferBytes: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0), decodedBytes: nav.decodedBodySize + resources.reduce((s, r) => s + r.decodedBodySize, 0) };
    });
    console.log(`dashboard load: ${load.loadMs.toFixed(0)} ms, ${load.transferBytes} bytes transferred (${load.decodedBytes} bytes decoded)`);
    await page.screenshot({ path: join(SHOTS, 'token.png') });
    await page.getByLabel('Token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('unilab.token'))).toBe(TOKEN);

    // A finished job to compare against, submitted through the API.
    const baseline = await client.submit(tinySpec('baseline-clm', 30));

    // Submit from the page: open the form, paste the spec, submit.
    await page.getByText('Submit a job').click();
    await page.getByLabel('Job spec (JSON)').fill(JSON.stringify(tinySpec('live-clm', 400)));
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    const liveRow = page.locator('tr', { hasText: 'live-clm' });
    await liveRow.waitFor();
    const liveId = (await liveRow.getAttribute('data-job'))!;

    // The one-job page: the loss curve grows as step events arrive.
    await liveRow.getByRole('link', { name: 'live-clm' }).click();
    const lossChart = page.getByRole('group', { name: 'Loss' });
    const drawn = async () => Number((await lossChart.getAttribute('data-points')) ?? 0);
    await expect.poll(drawn, { timeout: 30_000 }).toBeGreaterThanOrEqual(15);
    const first = await drawn();
    await expect.poll(drawn, { timeout: 20_000 }).toBeGreaterThan(first + 10);
    // The quick evaluation suite on the finished baseline (it runs while this page is used), for the comparison.
    await expect.poll(async () => (await client.job(baseline.id)).status, { timeout: 30_000 }).toBe('completed');
    await client.json('POST', `/v1/jobs/${baseline.id}/eval`, { suite: 'quick' });
    const evaluated = Date.now();
    // Evaluations: asked for only where the server lists the route (a server without it costs no failed request).
    await expect.poll(() => page.getByRole('region', { name: 'Evaluation' }).textContent()).toMatch(/does not evaluate jobs|No completed evaluation/);
    await page.screenshot({ path: join(SHOTS, 'job.png'), fullPage: true });
    // A reload reads the whole (short) log again: the timeline starts at the job's first event.
    await page.reload();
    await expect.poll(() => page.getByRole('list', { name: 'Events' }).textContent(), { timeout: 10_000 }).toMatch(/status queued.*status running.*stage live-clm \(attempt 1\) starts at step 0.*checkpoint at step 10/s);
    expect(Number(await lossChart.getAttribute('data-points'))).toBeGreaterThan(first);

    // Cancel from the page: the dialog asks, Escape keeps the job running, the button confirms.
    await page.getByRole('button', { name: 'Cancel live-clm' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect((await client.job(liveId)).status).toBe('running');
    await page.getByRole('button', { name: 'Cancel live-clm' }).click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 20_000 }).toBe('cancelled');
    const atCancel = (await client.job(liveId)).step;

    // The prompt box samples from the newest checkpoint through /v1/completions.
    await page.getByLabel('Tokens to generate').fill('8');
    await page.getByRole('button', { name: 'Complete' }).click();
    await expect.poll(() => page.locator('#completion').textContent(), { timeout: 20_000 }).toMatch(/^The.{2,}/s);

    // Resume from the page: the curve carries on past where the cancel stopped it.
    await page.getByRole('button', { name: 'Resume live-clm' }).click();
    await page.locator('#confirm-ok').click();
    await expect.poll(async () => (await client.job(liveId)).step, { timeout: 30_000 }).toBeGreaterThan(atCancel + 10);
    await expect.poll(async () => Number((await page.locator('#job-step').textContent())!.split('/')[0].replace(/,/g, '')), { timeout: 10_000 }).toBeGreaterThan(atCancel + 10);
    await page.getByRole('button', { name: 'Cancel live-clm' }).click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 20_000 }).toBe('cancelled');

    // The jobs page lists both; the phone-width layout too.
    await expect.poll(async () => (await client.job(baseline.id)).status, { timeout: 30_000 }).toBe('completed');
    await page.goto(`${server.url}/#/jobs`);
    await page.locator('tr[data-status="completed"]').waitFor();
    await page.screenshot({ path: join(SHOTS, 'jobs.png') });

    // Compare: overlaid curves and the relative table, with the finished job as the baseline.
    await page.goto(`${server.url}/#/compare?jobs=${baseline.id},${liveId}`);
    const table = page.locator('table.compare');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
    await expect.poll(() => table.locator('tbody tr').first().textContent()).toContain('baseline');
    await expect.poll(() => table.locator('tbody tr').nth(1).textContent()).toContain('%');
    expect(Number(await page.getByRole('group', { name: 'Training loss' }).getAttribute('data-points'))).toBeGreaterThan(30);
    await expect
      .poll(async () => (await client.json<{ evals: { status: string; error: string | null }[] }>('GET', `/v1/jobs/${baseline.id}/eval`)).evals[0], { timeout: 60_000, interval: 500 })
      .toMatchObject({ status: 'completed' });
    console.log(`quick evaluation of the baseline: ${Date.now() - evaluated} ms`);
    await page.reload();
    const evalRows = page.locator('table.compare-eval tbody tr');
    await evalRows.first().waitFor();
    expect(await evalRows.count()).toBeGreaterThan(3);
    // Every figure of the evaluated job has a value and a 95% interval; the other job has none.
    for (const row of await evalRows.all()) {
      const cells = await row.locator('td').allTextContents();
      expect(cells[0]).toMatch(/^-?\d+\.\d{3}( \[-?\d+\.\d{3}, -?\d+\.\d{3}\])?$/);
      expect(cells[1]).toBe('—');
    }
    await page.screenshot({ path: join(SHOTS, 'compare.png'), fullPage: true });

    // Data: a real report of `unilab data examples/data-pipeline-languages.json`.
    await page.goto(`${server.url}/#/data`);
    await page.getByLabel('Pipeline report').setInputFiles(join(DASHBOARD, 'test/fixtures/report-languages.json'));
    const languageId = page.locator('table', { hasText: 'All sources' }).locator('tr', { hasText: 'language-id' });
    await expect.poll(() => languageId.textContent()).toContain('1,260');
    await expect.poll(() => languageId.textContent()).toContain('892');
    await expect.poll(() => languageId.textContent()).toContain('low confidence 253');
    await expect.poll(() => page.locator('td.langs').nth(1).textContent()).toContain('36 languages');
    await page.screenshot({ path: join(SHOTS, 'data.png'), fullPage: true });

    // Accessibility: every control has a label, keyboard reaches the navigation, text keeps 4.5:1 contrast.
    for (const hash of ['#/jobs', `#/jobs/${liveId}`, `#/compare?jobs=${baseline.id},${liveId}`]) {
      await page.goto(`${server.url}/${hash}`);
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(300);
      expect(await page.evaluate(unlabelledControls), hash).toEqual([]);
      expect(await page.evaluate(lowContrastText), hash).toEqual([]);
    }
    await page.goto(`${server.url}/#/jobs`);
    await page.reload();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Jobs');

    // Phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, shot] of [['#/jobs', 'jobs-390px.png'], [`#/jobs/${liveId}`, 'job-390px.png']]) {
      await page.goto(`${server.url}/${hash}`);
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), hash).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SHOTS, shot), fullPage: true });
    }

    expect(consoleErrors).toEqual([]);
  }, 90_000);

  test('at 1,000 jobs the list pages 50 at a time, and a 100,000-step job opens as a downsampled curve', async () => {
    // Laid straight into the server's store through a second SQLite connection: no test could train them.
    const db = await nodeRuntime.openDatabase(join(dataDir, 'unilab.db'));
    const store = new JobStore(db);
    const big = 'job_hundredthousand';
    for (let i = 0; i < 1000; i++) {
      const id = `job_seeded${String(i).padStart(4, '0')}`;
      store.insertJob({ id, name: `seeded-${i}`, spec: {}, runSpec: {}, outDir: join(dataDir, 'seeded', id), totalSteps: 10, stageCount: 1 });
      store.update(id, { status: 'completed', step: 10 });
    }
    store.insertJob({ id: big, name: 'hundred-thousand', spec: tinySpec('hundred-thousand', 100_000), runSpec: {}, outDir: join(dataDir, 'seeded', big), totalSteps: 100_000, stageCount: 1 });
    store.appendEvent(big, 'status', { status: 'running' });
    transaction(db, () => {
      for (let s = 1; s <= 100_000; s++) store.insertMetric(big, { stage: 0, step: s, globalStep: s, loss: 6 * Math.exp(-s / 20_000) + 2, lr: 1e-3, gradNorm: 1, tokens: 32 });
    });
    // More events than the page replays: it must take the downsampled curve and follow from the newest event.
    for (let s = 10; s <= 100_000; s += 10) store.appendEvent(big, 'step', { stage: 0, step: s, globalStep: s, loss: 0 });
    store.appendEvent(big, 'status', { status: 'completed' }, { status: 'completed', step: 100_000 });
    store.close();

    await page.setViewportSize({ width: 1280, height: 900 });
    let started = Date.now();
    await page.goto(`${server.url}/#/jobs`);
    await page.locator('tr[data-job]').nth(49).waitFor();
    console.log(`jobs page with ${1002} jobs: first 50 rows in ${Date.now() - started} ms`);
    expect(await page.locator('tr[data-job]').count()).toBe(50);
    const firstPage = await page.locator('tr[data-job]').first().getAttribute('data-job');
    await page.getByRole('link', { name: 'Older jobs' }).click();
    await expect.poll(() => page.locator('tr[data-job]').first().getAttribute('data-job')).not.toBe(firstPage);
    expect(await page.locator('tr[data-job]').count()).toBe(50);

    started = Date.now();
    await page.goto(`${server.url}/#/jobs/${big}`);
    const lossChart = page.getByRole('group', { name: 'Loss' });
    await expect.poll(async () => Number((await lossChart.getAttribute('data-points')) ?? 0), { timeout: 20_000 }).toBeGreaterThan(1000);
    console.log(`one-job page of a 100,000-step job: curve drawn in ${Date.now() - started} ms`);
    expect(Number(await lossChart.getAttribute('data-points'))).toBeLessThanOrEqual(2002);
    expect(await page.getByRole('list', { name: 'Events' }).textContent()).toContain('10,002 earlier events not listed');
    expect(await page.locator('#job-status').textContent()).toBe('completed');
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});

/** Inputs, selects, textareas and buttons with no accessible name (no label, aria-label or text). */
function unlabelledControls(): string[] {
  return Array.from(document.querySelectorAll<HTMLElement>('input, select, textarea, button'))
    .filter((el) => {
      const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      return !labelled && !(el.tagName === 'BUTTON' && el.textContent!.trim());
    })
    .map((el) => el.outerHTML.slice(0, 80));
}

/** Visible text whose colour has less than 4.5:1 contrast with the background behind it (WCAG 2.1 AA, 1.4.3). */
function lowContrastText(): string[] {
  const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const luminance = ([r, g, b]: number[]) => {
    const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el: Element | null): number[] => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad: string[] = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement!;
    if (!node.textContent!.trim() || !el.checkVisibility() || el.closest('.visually-hidden, canvas, .u-legend .u-marker')) continue;
    const fg = rgb(getComputedStyle(el).color).slice(0, 3);
    const [l1, l2] = [luminance(fg), luminance(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    if (ratio < 4.5) bad.push(`${ratio.toFixed(2)}: ${node.textContent!.trim().slice(0, 40)}`);
  }
  return bad;
}
