import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { REVIEW_KEYS, reviewFixture } from '../helpers/review-fixture.js';

/** Debian's chromium (npm's browser downloads cannot reach their servers here); .ci/run installs it. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

const fixture = reviewFixture();
const acme = { authorization: `Bearer ${REVIEW_KEYS.acme}` };
const ops = { authorization: `Bearer ${REVIEW_KEYS.ops}` };
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, fixture.env);
  if (CHROMIUM) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server.close();
  fixture.repository.remove();
});

describe.skipIf(!CHROMIUM)('operator console in headless Chromium', () => {
  it('shows models, traffic, cost and breakers, and a reviewer resolves an item by clicking', async () => {
    for (let seed = 0; seed < 8; seed += 1) expect((await post(`${server.url}/v2/models/plain/infer`, mlpBody(seed), acme)).status).toBe(200);
    const asked = await post(`${server.url}/v2/models/reviewed/infer`, mlpBody(42), { ...acme, 'x-review': 'true' });
    const reviewId = asked.headers.get('x-review-id')!;
    expect(reviewId).toBeTruthy();

    const page = await browser.newPage();
    // The page runs under its Content-Security-Policy: anything it blocked would show here.
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${server.url}/console`);
    // Without a key the data calls are refused, and the page says so.
    await page.waitForFunction(() => document.getElementById('error')!.textContent !== '');
    await page.fill('#key', REVIEW_KEYS.ops);
    await page.click('#save');
    await page.waitForSelector(`#reviews tr[data-review="${reviewId}"]`);
    const models = await page.locator('#models tbody').innerText();
    expect(models).toContain('mlp-classifier');
    expect(models).toContain('READY');
    expect(await page.locator('#series tbody').innerText()).toContain('plain');
    expect(await page.locator('#cost tbody').innerText()).toContain('acme');
    expect(await page.locator('#error').innerText()).toBe('');

    expect(await page.evaluate(() => getComputedStyle(document.querySelector('section.wide')!).gridColumnStart)).toBe('1');
    await page.click(`button[data-approve="${reviewId}"]`);
    await page.waitForSelector(`#reviews tr[data-review="${reviewId}"]`, { state: 'detached' });
    expect(violations).toEqual([]);
    await page.close();

    const item = (await get(`${server.url}/v1/reviews/${reviewId}`, ops)).json;
    expect(item).toMatchObject({ state: 'resolved', decision: 'approved', resolved_by: 'ops' });
    const audit = (await get(`${server.url}/v1/admin/audit?limit=1000`, ops)).json as { entries: { action?: string; reviewer?: string; reviewId?: string; status: number }[] };
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'review.resolve', reviewer: 'ops', reviewId, status: 200 }));
  }, 60_000);

  it('the overview behind it is admin-only and holds series for configured names only', async () => {
    await post(`${server.url}/v2/models/no-such-model/infer`, mlpBody(1), acme);
    expect((await get(`${server.url}/v1/console/overview`, acme)).status).toBe(403);
    const overview = (await get(`${server.url}/v1/console/overview`, ops)).json as { series: { target: string }[] };
    // Routes that were called, and the model behind them (its queue is sampled); never the made-up name.
    expect(overview.series.map((entry) => entry.target).sort()).toEqual(['mlp-classifier', 'plain', 'reviewed']);
  });
});

describe('the console page\'s security headers', () => {
  it('a Content-Security-Policy allowing only its own script and style (by hash) and its own origin, no framing, nosniff', async () => {
    const reply = await fetch(`${server.url}/console`);
    const csp = reply.headers.get('content-security-policy')!;
    const page = await reply.text();
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    expect(csp.split('; ')).toEqual(
      expect.arrayContaining(["default-src 'none'", `script-src ${hash(script)}`, `style-src ${hash(style)}`, "connect-src 'self'", "frame-ancestors 'none'"]),
    );
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(reply.headers.get('x-frame-options')).toBe('DENY');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    // Nothing else inline that the policy would block.
    expect(page).not.toMatch(/ style="| on[a-z]+="/);
  });
});
