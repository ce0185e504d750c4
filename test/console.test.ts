/**
 * The operator console (issue 5, item 5) through a real browser: headless chromium driven by
 * playwright-core against the api (in-process, listening on a port), a worker and a scheduler, with
 * real Redis and PostgreSQL and a local fake gateway. Read as one operator's session: refused without
 * the token, signs in, starts a broadcast and watches it finish, pauses and resumes another, retries
 * failed sends, looks at Bull Board, signs out. Most of it at a phone's width (375 px).
 *
 * Screenshots land in test-artifacts/console/.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startSchedulerRole } from '../src/roles/scheduler.js';
import { adminAuth, recipients, type BroadcastProgress } from './support/broadcasts.js';
import { CONSOLE_ARTIFACTS, DESKTOP_VIEWPORT, PHONE_VIEWPORT, launchChromium } from './support/browser.js';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import type { FakeGateway } from './support/fake-gateway.js';
import type { Harness } from './support/harness.js';
import { startTestStack, type TestStack } from './support/stack.js';

/** Long enough for a broadcast to go through, short of vitest's own per-test timeout. */
const SLOW = { timeout: 30_000 };
/** For what the page shows within a poll or two (it polls every 2 s; expect.poll's default is 1 s). */
const SOON = { timeout: 10_000 };

let stack: TestStack;
let harness: Harness;
let gateway: FakeGateway;
let stopScheduler: (() => Promise<void>) | undefined;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL of a Server-Sent Events stream the page opened. */
const eventStreams: string[] = [];

async function adminCall(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await harness.app.inject({ method, url, headers: adminAuth, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

async function broadcastById(tenantId: string, id: string): Promise<BroadcastProgress> {
  return (await adminCall('GET', `/api/tenants/${tenantId}/broadcasts/${id}`)).body as unknown as BroadcastProgress;
}

function screenshot(name: string, target: Page = page): Promise<Buffer> {
  return target.screenshot({ path: join(CONSOLE_ARTIFACTS, `${name}.png`), fullPage: true });
}

function screenshotOf(part: Locator, name: string): Promise<Buffer> {
  return part.screenshot({ path: join(CONSOLE_ARTIFACTS, `${name}.png`) });
}

function broadcastCard(name: string): Locator {
  return page.locator('article.broadcast').filter({ has: page.getByRole('heading', { name, exact: true }) });
}

function figure(card: Locator, label: string): Locator {
  return card.locator('dl.figures > div').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
}

async function figureOf(card: Locator, label: string): Promise<number> {
  return Number(await figure(card, label).textContent());
}

async function stateOf(card: Locator): Promise<string | null> {
  return card.locator('.badge').textContent();
}

/** Whether the card's live stream is connected (the page marks it `data-live`). */
async function isLive(card: Locator): Promise<boolean> {
  return (await card.getAttribute('data-live')) !== null;
}

/** Fills and sends the New broadcast form; returns the new broadcast's card once it is on the page. */
async function createBroadcastInForm(name: string, text: string, jids: readonly string[]): Promise<Locator> {
  if ((await page.locator('#new-broadcast').getAttribute('open')) === null) await page.locator('#new-broadcast summary').click();
  await page.locator('#broadcast-name').fill(name);
  await page.locator('#broadcast-text').fill(text);
  await page.locator('#broadcast-recipients').fill(jids.join('\n'));
  await page.getByRole('button', { name: 'Start broadcast' }).click();
  await expect.poll(() => page.locator('#broadcast-form-status').textContent(), SOON).toContain(`“${name}” created for ${jids.length} recipients`);
  const card = broadcastCard(name);
  await card.waitFor();
  return card;
}

async function hasHorizontalScroll(): Promise<boolean> {
  // Strings run in the page: this project compiles without the DOM's types.
  return page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');
}

beforeAll(async () => {
  stack = await startTestStack({
    // The retry test holds the gateway's answers for a few seconds: the sends must not time out meanwhile.
    env: { GATEWAY_TIMEOUT_MS: '10000', WORKER_CONCURRENCY: '8,broadcasts=16' },
  });
  ({ harness, gateway } = stack);
  await harness.startWorker();
  // The scheduler registers its schedules, so the console's Scheduler section has something to show.
  stopScheduler = await startSchedulerRole(harness.container, { serveHealth: false });
  await harness.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(harness.app.server.address() as AddressInfo).port}`;

  for (const tenant of [
    { id: 'fast', name: 'Fast Shop', broadcastRatePerMinute: 100_000 },
    { id: 'slow', name: 'Slow Shop', broadcastRatePerMinute: 30 },
  ]) {
    expect((await adminCall('POST', '/api/tenants', tenant)).status).toBe(201);
  }

  browser = await launchChromium();
  context = await browser.newContext({ viewport: PHONE_VIEWPORT, baseURL: base });
  page = await context.newPage();
  page.on('request', (request) => {
    if (request.url().includes('/events')) eventStreams.push(request.url());
  });
});

afterAll(() =>
  stack?.close(
    () => context?.close(),
    () => browser?.close(),
    () => stopScheduler?.(),
  ),
);

describe('the operator console', () => {
  it('shows only the sign-in form without a session; the API and Bull Board refuse; a wrong token changes nothing', async () => {
    const answer = await page.goto('/admin');
    expect(answer?.status()).toBe(200);
    expect(answer?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByLabel('Admin token').waitFor();
    expect(await page.locator('#queue-list, #failed-list, #broadcast-list').count()).toBe(0);
    const shown = await page.locator('body').innerText();
    for (const data of ['receipts_sync', 'Fast Shop', 'broadcasts']) expect(shown).not.toContain(data);

    // Not even the page's own origin gets data without the cookie.
    expect(await page.evaluate(() => fetch('/api/queues').then((r) => r.status))).toBe(401);
    expect((await page.request.get('/api/tenants')).status()).toBe(401);
    const board = await page.request.get('/admin/queues', { maxRedirects: 0 });
    expect(board.status()).toBe(302);
    expect(board.headers()['location']).toBe('/admin');
    expect((await page.request.get('/admin/queues/api/queues')).status()).toBe(401);
    await page.goto('/admin/queues');
    await page.getByLabel('Admin token').waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin');

    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token is not right').waitFor();
    expect(await page.locator('#queue-list').count()).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect((await page.request.get('/api/queues')).status()).toBe(401);
    await screenshot('01-sign-in-wrong-token-phone');
  });

  it('signs in with the admin token: an HttpOnly, SameSite=Strict cookie; the queues appear and refresh', async () => {
    await page.goto('/admin');
    await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('article.queue[data-queue="broadcasts"]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin');
    expect(await page.locator('article.queue').count()).toBe(8);

    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.value).not.toContain(TEST_ADMIN_TOKEN);
    expect(await page.evaluate<string>('document.cookie')).toBe('');

    // The cookie reads the API; a change without the console's header is refused (CSRF), with it accepted.
    expect((await page.request.get('/api/queues')).status()).toBe(200);
    const forged = await page.evaluate(() =>
      fetch('/api/tenants', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'forged', name: 'Forged' }) }).then((r) => r.status),
    );
    expect(forged).toBe(403);
    expect((await adminCall('GET', '/api/tenants/forged')).status).toBe(404);

    await page.locator('article.schedule[data-schedule="reminders_tick"]').waitFor();
    await screenshotOf(page.locator('#queues'), '01b-queues-section-phone');
    expect(await hasHorizontalScroll()).toBe(false);
  });

  it('creates a broadcast from the form and its bar, fed by the live stream, reaches 100 %', async () => {
    await page.getByLabel('Tenant', { exact: true }).selectOption('fast');
    const jids = recipients(30, 40);
    const card = await createBroadcastInForm('Spring sale', 'Everything is 20 % off today.', jids);
    const id = await card.getAttribute('data-broadcast-id');
    if (!id) throw new Error('the card has no broadcast id');

    const bar = card.getByRole('progressbar');
    await expect.poll(() => bar.getAttribute('aria-valuenow'), SLOW).toBe('100');
    await expect.poll(() => stateOf(card), SOON).toBe('Completed');
    expect(await figureOf(card, 'Sent')).toBe(40);
    expect(await figureOf(card, 'Total')).toBe(40);
    expect(await figureOf(card, 'Pending')).toBe(0);
    expect(await card.locator('.bar-label').textContent()).toBe('100 %');
    // Playwright reports requests asynchronously: wait for it rather than read the list once.
    await expect.poll(() => eventStreams.some((url) => url.endsWith(`/api/tenants/fast/broadcasts/${id}/events`)), SOON).toBe(true);
    // The stream closed at the final state.
    await expect.poll(() => isLive(card), SOON).toBe(false);
    expect(gateway.sends.filter((send) => jids.includes(send.body.to))).toHaveLength(40);
    expect(await hasHorizontalScroll()).toBe(false);
    await screenshot('02-console-phone');
    await screenshotOf(page.locator('#broadcasts'), '02b-broadcasts-section-phone');
  });

  it('pauses and resumes a slow broadcast from its buttons, then cancels it', async () => {
    await page.getByLabel('Tenant', { exact: true }).selectOption('slow');
    const card = await createBroadcastInForm('Slow drip', 'One at a time.', recipients(31, 20));
    const id = await card.getAttribute('data-broadcast-id');
    if (!id) throw new Error('the card has no broadcast id');
    await expect.poll(() => stateOf(card), SLOW).toBe('Sending');

    await card.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => stateOf(card), SOON).toBe('Paused');
    expect((await broadcastById('slow', id)).state).toBe('paused');
    expect(await card.getByRole('button', { name: 'Pause' }).isHidden()).toBe(true);
    await screenshot('03-broadcast-paused-phone');

    await card.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => stateOf(card), SOON).toBe('Sending');
    expect((await broadcastById('slow', id)).state).toBe('running');

    // Cancel asks for a second click before it acts.
    const cancel = card.getByRole('button', { name: 'Cancel' });
    await cancel.click();
    expect((await broadcastById('slow', id)).state).toBe('running');
    await card.getByRole('button', { name: 'Click again to cancel' }).click();
    await expect.poll(() => stateOf(card), SOON).toBe('Cancelled');
    expect((await broadcastById('slow', id)).state).toBe('cancelled');
    // A send claimed just before the cancel still goes out; the next test's injected failures must not meet it.
    await expect.poll(async () => (await broadcastById('slow', id)).pending, SOON).toBe(0);
  });

  it('lists failed broadcast sends with their reason; Retry re-runs them and the broadcast recovers', async () => {
    await page.getByLabel('Tenant', { exact: true }).selectOption('fast');
    gateway.failNext(3, 400, { error: 'bad_request', message: 'not on WhatsApp' });
    const jids = recipients(32, 6);
    const card = await createBroadcastInForm('Refusals', 'Three of these are refused.', jids);
    await expect.poll(() => stateOf(card), SLOW).toBe('Completed');
    expect(await figureOf(card, 'Failed')).toBe(3);
    expect(await figureOf(card, 'Sent')).toBe(3);

    const failed = page.locator('#failed-list article.failed-job[data-queue="broadcasts"]');
    await expect.poll(() => failed.count(), SOON).toBe(3);
    for (const reason of await failed.locator('.reason').allTextContents()) expect(reason).toContain('Gateway rejected the send with 400');
    expect(await failed.first().locator('dl.figures').innerText()).toContain('Attempts');
    await page.locator('#failed').scrollIntoViewIfNeeded();
    await screenshot('04-failed-jobs-phone');
    await screenshotOf(page.locator('#failed'), '04b-failed-jobs-section-phone');

    const id = await card.getAttribute('data-broadcast-id');
    if (!id) throw new Error('the card has no broadcast id');
    const streamsOf = () => eventStreams.filter((url) => url.endsWith(`/api/tenants/fast/broadcasts/${id}/events`)).length;
    const bar = card.getByRole('progressbar');
    // Completed: its stream closed.
    await expect.poll(() => isLive(card), SOON).toBe(false);
    const streamsBefore = streamsOf();

    // The gateway accepts again (only three failures were injected), but holds its answers for now, so
    // the reopened broadcast stays Sending long enough for the page to see it: retry each from its button.
    gateway.holdRequests();
    try {
      const ids = await failed.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-job-id') ?? ''));
      for (const jobId of ids) {
        const job = page.locator('#failed-list article.failed-job').filter({ has: page.getByText(jobId, { exact: true }) });
        await job.getByRole('button', { name: 'Retry' }).click();
        await expect.poll(() => job.count(), SOON).toBe(0);
      }
      await expect.poll(() => failed.count(), SOON).toBe(0);

      // The retries reopened the completed broadcast: Sending again, half way, and its stream open again.
      await expect.poll(() => stateOf(card), SOON).toBe('Sending');
      await expect.poll(streamsOf, SOON).toBeGreaterThan(streamsBefore);
      await expect.poll(() => isLive(card), SOON).toBe(true);
      await expect.poll(() => bar.getAttribute('aria-valuenow'), SOON).toBe('50');
      await expect.poll(() => figureOf(card, 'Failed'), SOON).toBe(0);
      await expect.poll(() => figureOf(card, 'Pending'), SOON).toBe(3);
    } finally {
      gateway.releaseRequests();
    }

    // The sends land: the live bar reaches 100 % and the stream closes again at Completed.
    await expect.poll(() => bar.getAttribute('aria-valuenow'), SLOW).toBe('100');
    await expect.poll(() => stateOf(card), SOON).toBe('Completed');
    await expect.poll(() => figureOf(card, 'Sent'), SOON).toBe(6);
    await expect.poll(() => figureOf(card, 'Failed'), SOON).toBe(0);
    await expect.poll(() => figureOf(card, 'Pending'), SOON).toBe(0);
    await expect.poll(() => isLive(card), SOON).toBe(false);
    // Every recipient was accepted by the gateway in the end: the three first ones, the three retried.
    expect(new Set(gateway.sends.filter((send) => jids.includes(send.body.to) && send.status === 200).map((send) => send.body.to)).size).toBe(6);
  });

  it('shows Bull Board at /admin/queues, read-only', async () => {
    await page.goto('/admin/queues');
    await page.getByText('broadcasts', { exact: true }).first().waitFor();
    expect(await page.title()).toContain('Switchboard queues');
    expect((await page.request.get('/admin/queues/api/queues')).status()).toBe(200);
    expect((await page.request.put('/admin/queues/api/queues/broadcasts/empty')).status()).toBe(405);
    await screenshot('05-bull-board-phone');

    const desktop = await browser.newContext({ viewport: DESKTOP_VIEWPORT, baseURL: base, storageState: await context.storageState() });
    try {
      const wide = await desktop.newPage();
      await wide.goto('/admin');
      await wide.locator('article.broadcast').first().waitFor();
      await wide.locator('article.schedule').first().waitFor();
      await screenshot('06-console-desktop', wide);
    } finally {
      await desktop.close();
    }
  });

  it('signs out: the sign-in form again and the cookie is gone', async () => {
    await page.goto('/admin');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await context.cookies()).toEqual([]);
    expect((await page.request.get('/api/queues')).status()).toBe(401);
  });
});
