import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { REVIEW_KEYS, reviewFixture } from '../helpers/review-fixture.js';

/** Debian's chromium (npm's browser downloads cannot reach their servers here); .ci/run installs it. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

const fixture = reviewFixture();
// Beside the review fixture's routes: the project's int8 version of v1 as v3 (v1 stays the
// default), and a pipeline nobody calls, so the console lists targets before their first call.
const modelDir = join(fixture.repository.dir, 'mlp-classifier');
mkdirSync(join(modelDir, '3'));
copyFileSync(join(import.meta.dirname, '../../models/mlp-classifier/2/model.onnx'), join(modelDir, '3/model.onnx'));
const modelConfig = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
modelConfig.versions!['3'] = { weights: { source: 'quantized', from_version: '1', mode: 'dynamic', path: 'model.onnx' } };
writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ ...modelConfig, default_version: '1' }));
// A route whose cheap tier is that int8 version.
const policy = parseYaml(readFileSync(fixture.configFile, 'utf8')) as { routes: object[] };
policy.routes.push({
  name: 'cheap-first',
  tiers: [
    { name: 'int8', model: 'mlp-classifier', version: '3' },
    { name: 'fp32', model: 'mlp-classifier', version: '1' },
  ],
});
writeFileSync(fixture.configFile, stringifyYaml(policy));
fixture.repository.addPipeline('classify-json', {
  inputs: { features: { kind: 'json' } },
  steps: [{ id: 'classify', model: 'mlp-classifier', inputs: { input: 'features' }, outputs: { probabilities: 'probabilities' } }],
  outputs: { probabilities: 'probabilities' },
});
const acme = { authorization: `Bearer ${REVIEW_KEYS.acme}` };
const ops = { authorization: `Bearer ${REVIEW_KEYS.ops}` };
let server: RunningServer;
type Overview = { series: { target: string; points: { p95Ms: number }[] }[] };
const overviewOf = async () => (await get(`${server.url}/v1/console/overview`, ops)).json as Overview;
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
    for (let seed = 0; seed < 8; seed += 1)
      expect((await post(`${server.url}/v2/models/plain/infer`, mlpBody(seed), acme)).status).toBe(200);
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
    expect(await page.locator('#cost tbody').innerText()).toContain('acme');
    expect(await page.locator('#error').innerText()).toBe('');
    // The default version and the int8 version are marked.
    const versionCell = (version: string) =>
      page
        .locator('#models tbody tr', { hasText: 'mlp-classifier' })
        .filter({ has: page.locator(`td:nth-child(2):text-is("${version}")`) });
    expect(await versionCell('1').locator('.tag').allInnerTexts()).toEqual(['default']);
    expect(await versionCell('3').locator('.tag').allInnerTexts()).toEqual(['int8']);
    expect(await versionCell('2').locator('.tag').count()).toBe(0);
    // Routes and pipelines are listed before their first call; a target never called says so.
    const row = (target: string) => page.locator(`#series tr[data-target="${target}"]`);
    expect(await row('plain').locator('.now').innerText()).toMatch(/^(last 10 s|\d+ s ago): [\d.]+ \/ [\d.]+ ms, \d+ requests, 0 queued$/);
    expect(await row('triaged').locator('.now').innerText()).toBe('none in 10 min');
    expect(await row('triaged').locator('.detail').innerText()).toBe('cheap: mlp-classifier v2 → full: mlp-classifier v1 (default)');
    expect(await row('task:classify-json').locator('.now').innerText()).toBe('none in 10 min');
    expect(await row('task:classify-json').locator('.detail').innerText()).toBe('mlp-classifier');
    expect(await row('cheap-first').locator('.detail').innerText()).toBe(
      'int8: mlp-classifier v3 (int8) → fp32: mlp-classifier v1 (default)',
    );
    // p50 and p95 share one scale, labelled with its top: the p95 line reaches it, p50 stays at or below.
    const latency = await row('plain')
      .locator('td')
      .nth(1)
      .evaluate((cell) => ({
        scale: cell.querySelector('.scale')!.textContent,
        tops: [...cell.querySelectorAll('polyline')].map((line) =>
          Math.min(
            ...line
              .getAttribute('points')!
              .split(' ')
              .map((xy) => Number(xy.split(',')[1])),
          ),
        ),
        dots: cell.querySelectorAll('circle').length,
      }));
    const plainPoints = (await overviewOf()).series.find((entry) => entry.target === 'plain')!.points;
    const p95 = Math.max(...plainPoints.map((point) => point.p95Ms));
    expect(latency.scale).toBe(`0–${p95.toFixed(1)} ms`);
    expect(latency.tops).toHaveLength(2);
    expect(latency.tops[1]).toBe(1);
    expect(latency.tops[0]).toBeGreaterThanOrEqual(1);
    // Every point is drawn as a dot as well, so a lone first point is visible.
    expect(latency.dots).toBe(2 * plainPoints.length);
    // A chart of nothing but zeros is labelled 0, not a range.
    expect(await row('plain').locator('td').nth(3).locator('.scale').innerText()).toBe('0');

    expect(await page.evaluate(() => getComputedStyle(document.querySelector('section.wide')!).gridColumnStart)).toBe('1');
    await page.click(`button[data-approve="${reviewId}"]`);
    await page.waitForSelector(`#reviews tr[data-review="${reviewId}"]`, { state: 'detached' });
    // An empty panel says "none" rather than looking like a failed load.
    expect(await page.locator('#reviews tbody').innerText()).toBe('none');
    expect(violations).toEqual([]);
    await page.close();

    const item = (await get(`${server.url}/v1/reviews/${reviewId}`, ops)).json;
    expect(item).toMatchObject({ state: 'resolved', decision: 'approved', resolved_by: 'ops' });
    const audit = (await get(`${server.url}/v1/admin/audit?limit=1000`, ops)).json as {
      entries: { action?: string; reviewer?: string; reviewId?: string; status: number }[];
    };
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'review.resolve', reviewer: 'ops', reviewId, status: 200 }));
  }, 60_000);

  it('the "now" column gives the newest point\'s age, and nothing once it is older than the window', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/console`);
    await page.fill('#key', REVIEW_KEYS.ops);
    // The page's own clock is not involved: ages come from the overview's generated_at, so an
    // overview answered 75 s after the calls shows them 75 s old (and 11 minutes later, none).
    for (const [laterMs, expected] of [
      [75_000, /^(6[5-9]|[7-9]\d|1[01]\d) s ago: /],
      [660_000, /^none in 10 min$/],
    ] as const) {
      await page.route('**/v1/console/overview', async (route) => {
        const overview = (await (await route.fetch()).json()) as {
          generated_at: string;
          window_ms: number;
          series: { points: { t: number }[] }[];
        };
        const later = Date.parse(overview.generated_at) + laterMs;
        for (const entry of overview.series) entry.points = entry.points.filter((point) => point.t >= later - overview.window_ms);
        await route.fulfill({ json: { ...overview, generated_at: new Date(later).toISOString() } });
      });
      await page.click('#save');
      await expect.poll(() => page.locator('#series tr[data-target="plain"] .now').innerText()).toMatch(expected);
      await page.unroute('**/v1/console/overview');
    }
    await page.close();
  });

  it('the overview behind it is admin-only and holds series for configured names only', async () => {
    await post(`${server.url}/v2/models/no-such-model/infer`, mlpBody(1), acme);
    expect((await get(`${server.url}/v1/console/overview`, acme)).status).toBe(403);
    const overview = (await get(`${server.url}/v1/console/overview`, ops)).json as { series: { target: string; kind: string }[] };
    // Every route and pipeline, and the model behind them (its queue is sampled); never the made-up name.
    expect(overview.series.map((entry) => entry.target)).toEqual([
      'reviewed',
      'triaged',
      'plain',
      'cheap-first',
      'task:classify-json',
      'mlp-classifier',
    ]);
    expect(overview.series.map((entry) => entry.kind)).toEqual(['route', 'route', 'route', 'route', 'pipeline', 'model']);
    const models = (await get(`${server.url}/v1/console/overview`, ops)).json as {
      models: { version: string; default: boolean; int8: boolean }[];
    };
    const flags = models.models.map(({ version, default: isDefault, int8 }) => ({ version, isDefault, int8 }));
    expect(flags.sort((a, b) => a.version.localeCompare(b.version))).toEqual([
      { version: '1', isDefault: true, int8: false },
      { version: '2', isDefault: false, int8: false },
      { version: '3', isDefault: false, int8: true },
    ]);
  });
});

describe("the console page's security headers", () => {
  it('a Content-Security-Policy allowing only its own script and style (by hash) and its own origin, no framing, nosniff', async () => {
    const reply = await fetch(`${server.url}/console`);
    const csp = reply.headers.get('content-security-policy')!;
    const page = await reply.text();
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    expect(csp.split('; ')).toEqual(
      expect.arrayContaining([
        "default-src 'none'",
        `script-src ${hash(script)}`,
        `style-src ${hash(style)}`,
        "connect-src 'self'",
        "frame-ancestors 'none'",
      ]),
    );
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(reply.headers.get('x-frame-options')).toBe('DENY');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    // Nothing else inline that the policy would block.
    expect(page).not.toMatch(/ style="| on[a-z]+="/);
  });
});

describe("the console page's escaping", () => {
  it('a value put in an attribute or a cell cannot close it: quotes and angle brackets are escaped', async () => {
    const page = await (await fetch(`${server.url}/console`)).text();
    const definition = /const text = \([^\n]*\n/.exec(page)![0];
    const text = runInNewContext(`${definition}; text`) as (value: unknown) => string;
    const hostile = `x" onmouseover="alert(1)' <img src=x onerror=alert(2)> &amp;`;
    const escaped = text(hostile);
    expect(escaped).not.toMatch(/["'<>]/);
    expect(escaped).toBe('x&#34; onmouseover=&#34;alert(1)&#39; &#60;img src=x onerror=alert(2)&#62; &#38;amp;');
  });
});
