import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenAiServer } from '@leonidas/api/testing';
import { createLeonidasClient } from '@leonidas/client';
import { freePort } from '@leonidas/db/local';
import {
  buildServer,
  type ServerProcess,
  startServerProcess,
  waitForHealthy,
} from '@leonidas/server/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';

/**
 * The whole product as a person uses it: the production builds of the web app and the server in embedded mode,
 * driven in Debian's Chromium. Screenshots of the main screens land in apps/web/test-artifacts/.
 */
const webDir = join(import.meta.dirname, '..');
const artifacts = join(webDir, 'test-artifacts');
const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-e2e-'));
let server: ServerProcess | undefined;
let browser: Browser | undefined;
let baseUrl = '';
/**
 * How long to wait for the server's work (a file processed, a reply written). CI runs this beside two other test
 * packages on two cores, where a reply that takes 5 s alone has taken over 30; the limit only stops a hang.
 */
const SERVER_WORK_MS = 90_000;

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [join(webDir, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
    // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    { cwd: webDir, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  );
  buildServer();
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = startServerProcess({
    // A port other than 3000 and no CORS_ORIGINS: the app's own origin is allowed by default, uploads included.
    PORT: String(port),
    DATA_DIR: dataDir,
    // Slow enough to reload in the middle of a reply.
    OFFLINE_TOKEN_DELAY_MS: '60',
    LOG_LEVEL: 'warn',
  });
  await waitForHealthy(baseUrl, server);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const CSV =
  'customer,months,plan,churned\nacme,12,pro,false\nglobex,3,free,true\ninitech,7,pro,false\numbrella,1,free,true\n';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Looks at the page as a person would (a screenshot in test-artifacts/) and as a screen reader and WCAG 2.1 AA
 * would (axe-core: labels, roles, names, contrast...): any violation fails the test, named with its nodes.
 */
async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  // Evaluated through the browser's debugging protocol: the app's CSP (rightly) refuses inline scripts.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (options: object) => Promise<AxeResults> } }).axe;
    const results = await axe.run({ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return results.violations.map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      nodes: violation.nodes.map((node) => `${node.target.join(' ')}: ${node.failureSummary}`),
    }));
  });
  expect(violations, `accessibility of ${name}`).toEqual([]);
}

type AxeResults = {
  violations: { id: string; impact: string; nodes: { target: string[]; failureSummary: string }[] }[];
};

describe('a data scientist using Leonidas in a browser', () => {
  it('signs up, uploads a CSV, reads its profile, asks DS Bro, reloads mid-reply, renames and deletes', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on(
      'response',
      (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`),
    );

    await page.goto(baseUrl);
    await page.getByRole('heading', { name: 'Log in to Leonidas' }).waitFor();
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Name').fill('Ada');
    await page.getByLabel('Email').fill(`ada.${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a long password');
    await shoot(page, '01-signup');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.getByText('No projects yet').waitFor();

    await page.getByLabel('New project name').fill('Churn study');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: /Churn study/ }).click();
    await page.getByRole('heading', { name: 'Churn study' }).waitFor();

    await page
      .getByLabel('Upload CSV files')
      .setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    const files = page.getByRole('list', { name: 'Project files' });
    await files.getByText('ready').waitFor({ timeout: SERVER_WORK_MS });
    expect(await files.textContent()).toContain('4 rows');
    await shoot(page, '02-project');

    await files.getByRole('link', { name: 'customers.csv' }).click();
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    const profile = page.getByRole('table', { name: 'Column profile' });
    await profile.getByText('months').waitFor();
    expect(await profile.textContent()).toContain('integer');
    expect(await page.getByRole('table', { name: 'Preview of the first rows' }).textContent()).toContain(
      'globex',
    );
    await shoot(page, '03-file');

    await page.getByRole('link', { name: 'Back to project' }).click();
    await page.getByRole('button', { name: 'New chat' }).click();
    const composer = page.getByLabel('Message DS Bro');
    await composer.fill('describe customers.csv');
    await composer.press('Enter');
    const log = page.getByRole('log', { name: 'Conversation' });
    await log.getByText('DS Bro is writing').waitFor();
    // Reload in the middle of the reply: the stream picks up again and completes.
    await page.reload();
    const reply = page.getByRole('article', { name: "DS Bro's reply" }).last();
    await reply.getByText('4 rows').waitFor({ timeout: SERVER_WORK_MS });
    await reply.getByRole('table').last().getByText('umbrella').waitFor({ timeout: SERVER_WORK_MS });
    await page.getByRole('note').getByText('running offline').waitFor();
    expect(await log.getByText('DS Bro is writing').count()).toBe(0);
    expect(await reply.textContent()).toContain('customers.csv has 4 rows in the columns below');
    // The question is there too after the reload (from history).
    await log.getByText('describe customers.csv').waitFor();
    await reply.getByRole('button', { name: 'Used describe_file' }).click();
    await shoot(page, '04-chat');

    await page.getByRole('button', { name: 'Rename chat' }).click();
    await page.getByLabel('Chat title').fill('Churn by plan');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Churn by plan' }).waitFor();
    await page.getByRole('button', { name: 'Delete chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete chat' }).click();
    await page.getByRole('heading', { name: 'Churn study' }).waitFor();
    expect(await page.getByRole('list', { name: 'Chats' }).textContent()).not.toContain('Churn by plan');

    await page.getByRole('button', { name: 'Rename project' }).click();
    await page.getByLabel('Project name').fill('Churn study 2026');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Churn study 2026' }).waitFor();

    expect(problems).toEqual([]);

    // At phone width the same screens still work.
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, '05-project-phone');
    await page.getByRole('button', { name: 'Delete project' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete project' }).click();
    await page.getByText('No projects yet').waitFor();
    await context.close();
  });

  it('asks DS Bro for a grouped total, a chart and a saved table, and follows where the files came from', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
    const page = await context.newPage();
    const problems: string[] = [];
    const scripts: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => request.resourceType() === 'script' && scripts.push(request.url()));
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Email').fill(`hopper.${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a long password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New project name').fill('Plans');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: /Plans/ }).click();
    await page
      .getByLabel('Upload CSV files')
      .setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    const files = page.getByRole('list', { name: 'Project files' });
    await files.getByText('ready').waitFor({ timeout: SERVER_WORK_MS });
    await page.getByRole('button', { name: 'New chat' }).click();
    const composer = page.getByLabel('Message DS Bro');
    const ask = async (message: string) => {
      const replies = await page.getByRole('article', { name: "DS Bro's reply" }).count();
      await composer.fill(message);
      await composer.press('Enter');
      const reply = page.getByRole('article', { name: "DS Bro's reply" }).nth(replies);
      await reply.waitFor({ timeout: SERVER_WORK_MS });
      await page
        .getByRole('log', { name: 'Conversation' })
        .getByText('DS Bro is writing')
        .waitFor({ state: 'detached', timeout: SERVER_WORK_MS });
      return reply;
    };

    // The query, in monospace with a button that copies it, and its result as a table.
    const sql = 'SELECT plan, sum(months) AS months FROM customers GROUP BY plan ORDER BY plan';
    const queried = await ask(`/sql ${sql}`);
    await queried.getByText('SQL, result q1: 2 rows').waitFor();
    expect(await queried.locator('pre code').textContent()).toBe(sql);
    await queried.getByRole('button', { name: 'Copy SQL' }).click();
    await queried.getByRole('status').getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(sql);
    await queried.getByRole('button', { name: 'Show the result (2 rows)' }).click();
    const result = queried.getByRole('table', { name: 'Result q1' });
    expect(await result.locator('th').allTextContents()).toEqual(['plan', 'months']);
    expect(
      await result
        .locator('tbody tr')
        .evaluateAll((rows) =>
          rows.map((row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent)),
        ),
    ).toEqual([
      ['free', '4'],
      ['pro', '19'],
    ]);
    // Nothing of the chart library is loaded before a chart is shown.
    expect(scripts.filter((url) => url.includes('VegaChart'))).toEqual([]);
    await shoot(page, '08-chat-query');

    // The chart, drawn in the reply under the app's Content Security Policy (no eval): one bar per plan.
    const charted = await ask('/chart bar x=plan y=months title=Months by plan');
    const chart = charted.getByRole('region', { name: 'Chart: Months by plan' });
    const bars = chart.locator('svg [role="graphics-symbol"][aria-roledescription="bar"]');
    await expect.poll(() => bars.count(), { timeout: SERVER_WORK_MS }).toBe(2);
    expect(await bars.evaluateAll((marks) => marks.map((mark) => mark.getAttribute('aria-label')))).toEqual([
      'plan: free; months: 4',
      'plan: pro; months: 19',
    ]);
    expect(scripts.filter((url) => url.includes('VegaChart'))).toHaveLength(1);
    await shoot(page, '09-chat-chart');

    const saved = await ask('/save months by plan');
    await saved.getByRole('link', { name: 'months by plan.csv' }).waitFor();
    expect(problems).toEqual([]);

    // Both files are in the project, marked as DS Bro's.
    await page.getByRole('link', { name: 'Back to project' }).click();
    const made = (name: string) => files.getByRole('listitem').filter({ hasText: name });
    await made('months by plan.csv').getByText('made by DS Bro').waitFor();
    await made('Months by plan.vl.json').getByText('made by DS Bro').waitFor();
    expect(await made('customers.csv').getByText('made by DS Bro').count()).toBe(0);
    await made('months by plan.csv').getByText('ready').waitFor({ timeout: SERVER_WORK_MS });
    await shoot(page, '10-project-generated-files');

    // The saved table: profiled like an upload, and where it came from.
    await files.getByRole('link', { name: 'months by plan.csv' }).click();
    const provenance = page.getByRole('region', { name: 'Made by DS Bro' });
    await provenance.getByText(sql).waitFor();
    await provenance.getByRole('link', { name: 'customers.csv' }).waitFor();
    await provenance.getByRole('link', { name: /the chat/ }).waitFor();
    expect(await page.getByRole('table', { name: 'Column profile' }).textContent()).toContain('months');
    expect(await page.getByRole('table', { name: 'Preview of the first rows' }).textContent()).toContain(
      '19',
    );
    await shoot(page, '11-generated-table');

    // Its chat link leads to the message that saved it.
    await provenance.getByRole('link', { name: /the chat/ }).click();
    const linked = page.locator('li[aria-current="true"]');
    await linked.getByRole('link', { name: 'months by plan.csv' }).waitFor();

    // The chart file draws as a chart, with its provenance.
    await page.getByRole('link', { name: 'Back to project' }).click();
    await files.getByRole('link', { name: 'Months by plan.vl.json' }).click();
    await page.getByRole('region', { name: 'Made by DS Bro' }).getByText(sql).waitFor();
    const drawn = page
      .getByRole('region', { name: 'Chart: Months by plan' })
      .locator('svg [role="graphics-symbol"][aria-roledescription="bar"]');
    await expect.poll(() => drawn.count(), { timeout: SERVER_WORK_MS }).toBe(2);
    await shoot(page, '12-generated-chart');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('edits a question, switches between its versions, regenerates and copies a reply, deletes a message, and keeps the branch across a reload', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on(
      'response',
      (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`),
    );
    const email = `lovelace.${Date.now()}@example.com`;
    const password = 'a long password';
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New project name').fill('Versions');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: /Versions/ }).click();
    await page.getByRole('button', { name: 'New chat' }).click();

    const log = page.getByRole('log', { name: 'Conversation' });
    const composer = page.getByLabel('Message DS Bro');
    const items = log.locator('li[id^="message-"]');
    const replies = log.getByRole('article', { name: "DS Bro's reply" });
    const questions = () => log.getByRole('article', { name: 'Your message' }).allTextContents();
    const settled = () =>
      log.getByText('DS Bro is writing').waitFor({ state: 'detached', timeout: SERVER_WORK_MS });
    const focusedLabel = () =>
      page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.id);
    const ask = async (question: string) => {
      const count = await replies.count();
      await composer.fill(question);
      await composer.press('Enter');
      await replies.nth(count).waitFor({ timeout: SERVER_WORK_MS });
      await settled();
    };
    await ask('what files do I have?');
    await ask('/sql SELECT 1 AS one');
    await ask('/tables');
    expect(await questions()).toEqual(['what files do I have?', '/sql SELECT 1 AS one', '/tables']);
    expect(await replies.nth(1).getByRole('table').last().textContent()).toContain('one');

    // Edit the second question: Escape leaves it as it was and gives focus back to its Edit button.
    const second = items.nth(2);
    await second.getByRole('button', { name: 'Edit' }).click();
    const editor = page.getByLabel('Edit your message');
    expect(await editor.inputValue()).toBe('/sql SELECT 1 AS one');
    expect(await editor.evaluate((element) => element === document.activeElement)).toBe(true);
    await editor.press('Escape');
    await editor.waitFor({ state: 'detached' });
    expect(
      await second
        .getByRole('button', { name: 'Edit' })
        .evaluate((element) => element === document.activeElement),
    ).toBe(true);
    // From the keyboard: Enter on the Edit button, Shift+Enter for a new line, Enter reruns.
    await page.keyboard.press('Enter');
    await editor.fill('/sql SELECT 2');
    await editor.press('Shift+Enter');
    await editor.pressSequentially('AS two');
    expect(await editor.inputValue()).toBe('/sql SELECT 2\nAS two');
    await editor.press('Enter');
    await expect
      .poll(questions, { timeout: SERVER_WORK_MS })
      .toEqual(['what files do I have?', '/sql SELECT 2\nAS two']);
    await settled();
    // The new branch: the edited question with its versions, its reply, and the third exchange out of view.
    const edited = items.nth(2);
    await edited.getByText('2 / 2').waitFor();
    await edited.getByText('Version 2 of 2').waitFor({ state: 'attached' });
    await edited.getByText('edited').waitFor();
    expect(await replies.count()).toBe(2);
    expect(await replies.last().getByRole('table').last().textContent()).toContain('two');
    expect(await log.getByText('/tables').count()).toBe(0);
    expect(await focusedLabel()).toBe('composer');
    await shoot(page, '14-chat-edited');

    // Version 1 and back, by keyboard: focus stays on the version buttons as the branch changes.
    await edited.getByRole('button', { name: 'Previous version' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(questions, { timeout: SERVER_WORK_MS })
      .toEqual(['what files do I have?', '/sql SELECT 1 AS one', '/tables']);
    await items.nth(2).getByText('1 / 2').waitFor();
    expect(await replies.count()).toBe(3);
    expect(await replies.nth(1).getByRole('table').last().textContent()).toContain('one');
    await expect.poll(focusedLabel, { timeout: SERVER_WORK_MS }).toBe('Next version');
    await shoot(page, '15-chat-version-1');
    await page.keyboard.press('Enter');
    await expect
      .poll(questions, { timeout: SERVER_WORK_MS })
      .toEqual(['what files do I have?', '/sql SELECT 2\nAS two']);
    await items.nth(2).getByText('2 / 2').waitFor();
    await expect.poll(focusedLabel, { timeout: SERVER_WORK_MS }).toBe('Previous version');

    // Regenerate the last reply: the conversation is locked while it is written, then the reply has 2 versions.
    const lastReply = items.last();
    await lastReply.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => items.first().getByRole('button', { name: 'Edit' }).isDisabled()).toBe(true);
    await settled();
    await items.last().getByText('2 / 2').waitFor();
    expect(await items.first().getByRole('button', { name: 'Edit' }).isDisabled()).toBe(false);
    expect(await questions()).toEqual(['what files do I have?', '/sql SELECT 2\nAS two']);
    expect(await replies.last().getByRole('table').last().textContent()).toContain('two');
    await items.last().getByRole('button', { name: 'Copy', exact: true }).click();
    await items.last().getByRole('status').getByText('Copied').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(/^The query returned 1 row\./);
    expect(copied).toContain('| two |\n|---|\n| 2 |');
    await shoot(page, '16-chat-regenerated');

    // Delete the edited question: it and its reply go; the branch moves to the version that remains.
    await items.nth(2).getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByText(/^This message/).textContent()).toBe(
      'This message and the message after it are deleted, along with any other versions below it. Files DS Bro made are kept.',
    );
    await shoot(page, '17-chat-delete-message');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect
      .poll(questions, { timeout: SERVER_WORK_MS })
      .toEqual(['what files do I have?', '/sql SELECT 1 AS one', '/tables']);
    expect(await log.getByText('SELECT 2').count()).toBe(0);
    expect(await log.getByRole('button', { name: 'Previous version' }).count()).toBe(0);
    await expect.poll(focusedLabel, { timeout: SERVER_WORK_MS }).toBe('composer');
    await shoot(page, '18-chat-after-delete');

    // A reload shows the same branch, the one the server holds as active.
    const shownIds = () =>
      items.evaluateAll((nodes) => nodes.map((node) => node.id.replace(/^message-/, '')));
    const before = await shownIds();
    await page.reload();
    await log.getByText('/tables').waitFor();
    expect(await shownIds()).toEqual(before);
    expect(await questions()).toEqual(['what files do I have?', '/sql SELECT 1 AS one', '/tables']);
    const { accessToken } = await createLeonidasClient({ url: baseUrl }).auth.login.mutate({
      email,
      password,
    });
    const client = createLeonidasClient({ url: baseUrl, token: accessToken });
    const sessionId = page.url().split('/').at(-1) ?? '';
    const history = await client.chat.history.query({ sessionId, limit: 100 });
    expect(history.items.map((message) => message.id)).toEqual(before);
    expect(
      history.items.filter((message) => message.role === 'user').map((message) => message.content),
    ).toEqual(await questions());
    // At phone width the message buttons wrap under their messages and stay usable.
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, '19-chat-versions-phone');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('keeps a draft, sends on Enter only, stops a reply, explains a failed file, pages back, refreshes tokens silently', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    // The page's clock runs as usual until the test moves it forward (to near the access token's expiry).
    await context.clock.install();
    const page = await context.newPage();
    const email = `grace.${Date.now()}@example.com`;
    const password = 'a long password';
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New project name').fill('Details');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: /Details/ }).click();

    // A binary file with a .csv name fails with a reason a person understands.
    await page.getByLabel('Upload CSV files').setInputFiles({
      name: 'photo.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x00, 0x0d]),
    });
    const files = page.getByRole('list', { name: 'Project files' });
    await files.getByText('failed').waitFor({ timeout: SERVER_WORK_MS });
    await files.getByText(/does not look like a text file/).waitFor();

    await page.getByRole('button', { name: 'New chat' }).click();
    const composer = page.getByLabel('Message DS Bro');
    await composer.fill('first line');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('second line');
    expect(await composer.inputValue()).toBe('first line\nsecond line');
    await page.reload();
    expect(await page.getByLabel('Message DS Bro').inputValue()).toBe('first line\nsecond line');

    // Stop: the offline analyst streams word by word, slowly enough to be stopped.
    await page.getByLabel('Message DS Bro').fill('hello');
    await page.getByLabel('Message DS Bro').press('Enter');
    await page.getByRole('button', { name: 'Stop' }).click();
    const log = page.getByRole('log', { name: 'Conversation' });
    await log.getByText('Stopped.').waitFor({ timeout: SERVER_WORK_MS });
    expect(await page.getByLabel('Message DS Bro').inputValue()).toBe('');

    // A long chat (34 messages, more than one page of 30): older messages appear when scrolling up. The
    // messages come from a service signed in as the same user.
    const { accessToken } = await createLeonidasClient({ url: baseUrl }).auth.login.mutate({
      email,
      password,
    });
    const sessionId = page.url().split('/').at(-1) ?? '';
    const client = createLeonidasClient({ url: baseUrl, token: accessToken });
    for (let i = 0; i < 16; i++) {
      await new Promise<void>((resolve, reject) => {
        let runId = '';
        const subscription = client.chat.onEvents.subscribe(
          { sessionId },
          {
            onStarted: () => {
              client.chat.send
                .mutate({
                  sessionId,
                  content: `question ${i}: what files do I have?`,
                  clientMessageId: `q${i}`,
                })
                .then((sent) => {
                  runId = sent.runId;
                }, reject);
            },
            onData: ({ data }) => {
              if (data.type === 'message.completed' && data.runId === runId) {
                subscription.unsubscribe();
                resolve();
              }
            },
            onError: reject,
          },
        );
      });
    }
    await page.reload();
    await log.getByText('question 15: what files do I have?').waitFor();
    expect(await log.getByText('question 0:').count()).toBe(0);
    await log.evaluate((element) => {
      element.scrollTop = 0;
    });
    await log.getByText('question 0: what files do I have?').waitFor({ timeout: SERVER_WORK_MS });

    // An access token about to expire is renewed before the next call; the user notices nothing.
    const calls: string[] = [];
    const refused: string[] = [];
    page.on('request', (request) => calls.push(new URL(request.url()).pathname));
    page.on('response', (response) => response.status() >= 400 && refused.push(response.url()));
    await page.clock.fastForward('14:30'); // 30 s before the 15-minute access token expires
    await page.getByLabel('Message DS Bro').fill('one more thing');
    await page.getByLabel('Message DS Bro').press('Enter');
    await log.getByText('one more thing').waitFor();
    const renewal = calls.indexOf('/trpc/auth.refresh');
    expect(renewal).toBeGreaterThan(-1);
    expect(renewal).toBeLessThan(calls.findIndex((path) => path.includes('chat.send')));
    expect(refused).toEqual([]);
    await context.close();
  }, 180_000); // 17 replies streamed word by word, slowly on purpose

  it('shows a clear error for a wrong password', async () => {
    const page = await browser!.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText('Email or password is incorrect.').waitFor();
    await shoot(page, '06-wrong-password');
    await page.close();
  });

  it('serves the app for deep links and keeps the API answering JSON', async () => {
    const deep = await fetch(`${baseUrl}/projects/x/sessions/y`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    const api = await fetch(`${baseUrl}/trpc/auth.me`);
    expect(api.status).toBe(401);
    expect(server?.output()).not.toMatch(/"level":50/);
  });
  it('keeps the chart library out of the script every page loads', () => {
    const html = readFileSync(join(webDir, 'dist/index.html'), 'utf8');
    const entry = /<script type="module" crossorigin src="\/(assets\/index-[\w-]+\.js)">/.exec(html)?.[1];
    expect(entry).toBeDefined();
    const script = readFileSync(join(webDir, 'dist', entry ?? ''), 'utf8');
    expect(script).not.toContain('vega-embed');
    expect(script).toMatch(/VegaChart-[\w-]+\.js/);
  });
});

describe('where a sign-in lives in the browser', () => {
  const JWT = /eyJ[\w-]+\.[\w-]+\./;
  const isRefresh = (url: string) => new URL(url).pathname === '/trpc/auth.refresh';

  async function signUpIn(context: BrowserContext) {
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('response', (response) => response.status() >= 400 && refused.push(response.url()));
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Email').fill(`tokens.${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a long password');
    const registered = page.waitForResponse((response) => response.url().includes('/trpc/auth.register'));
    await page.getByRole('button', { name: 'Sign up' }).click();
    const body = await (await registered).text();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    return { page, refused, registerBody: body };
  }

  /** The refresh cookies as the browser holds them, by path (one value for both). */
  async function refreshCookies(context: BrowserContext) {
    const cookies = (await context.cookies()).filter((cookie) => cookie.name === 'leonidas_refresh');
    return { cookies, value: cookies[0]?.value ?? '' };
  }

  /** Everything a script in the page can read: both storages and document.cookie. */
  const readableByScripts = (page: Page) =>
    page.evaluate(() => ({
      local: Object.entries(localStorage),
      session: Object.entries(sessionStorage),
      cookie: document.cookie,
    }));

  it('keeps the refresh token in an HttpOnly cookie and the access token in memory, and stays signed in across reloads', async () => {
    const context = await browser!.newContext();
    const { page, refused, registerBody } = await signUpIn(context);
    const accessToken = /"accessToken":"([^"]+)"/.exec(registerBody)?.[1] ?? '';
    expect(accessToken).toMatch(JWT);
    expect(registerBody).not.toContain('refreshToken');

    const { cookies, value } = await refreshCookies(context);
    expect(
      cookies
        .map(({ path, httpOnly, sameSite, secure }) => ({ path, httpOnly, sameSite, secure }))
        .sort((a, b) => a.path.localeCompare(b.path)),
    ).toEqual([
      { path: '/trpc/auth.logout', httpOnly: true, sameSite: 'Strict', secure: false },
      { path: '/trpc/auth.refresh', httpOnly: true, sameSite: 'Strict', secure: false },
    ]);
    expect(value).toMatch(/^[\w-]{43}$/);

    const readable = await readableByScripts(page);
    expect(readable.session).toEqual([]);
    expect(readable.local.map(([key]) => key)).toEqual(['leonidas.signedIn']);
    for (const [key, item] of [...readable.local, ...readable.session]) {
      expect(key).not.toMatch(/token/i);
      expect(item).not.toMatch(JWT);
      expect(item).not.toContain(value);
      expect(item).not.toContain(accessToken);
    }
    expect(readable.cookie).not.toContain('leonidas_refresh');

    // A reload has no token in hand: the cookie gets a new one (and is rotated).
    const refreshed = page.waitForResponse((response) => isRefresh(response.url()));
    await page.reload();
    expect((await refreshed).status()).toBe(200);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const rotated = (await refreshCookies(context)).value;
    expect(rotated).not.toBe(value);

    // Tabs opened together take turns with the cookie: a token presented twice would end the sign-in. Refreshes
    // are held until two are waiting (or a second has passed) and then let go together, so that two tabs not
    // taking turns would present the same token at once.
    const held: (() => void)[] = [];
    const releaseHeld = () => {
      for (const release of held.splice(0)) release();
    };
    await context.route('**/trpc/auth.refresh', async (route) => {
      const released = new Promise<void>((resolve) => held.push(resolve));
      if (held.length === 2) releaseHeld();
      else setTimeout(releaseHeld, 1000);
      await released;
      await route.continue();
    });
    const second = await context.newPage();
    await Promise.all([page.reload(), second.goto(baseUrl)]);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await second.getByRole('heading', { name: 'Projects' }).waitFor();
    await context.unrouteAll();
    await page.reload();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect(refused).toEqual([]);
    await context.close();
  });

  it('takes no cross-site post to the refresh call: no new tokens, the sign-in neither rotated nor revoked', async () => {
    const context = await browser!.newContext();
    const { page, refused } = await signUpIn(context);
    const before = (await refreshCookies(context)).value;
    const target = `${baseUrl}/trpc/auth.refresh`;
    // A page of the attacker's: a form posting a JSON-looking text body (the classic trick), and two fetches.
    const attacker = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
        <form id="attack" method="POST" action="${target}" enctype="text/plain" target="sink">
          <input name='{"json":{"x":"' value='"}}'>
        </form>
        <iframe name="sink" title="sink"></iframe>
        <script>document.getElementById('attack').submit();</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const attackerPort = (attacker.address() as AddressInfo).port;
    try {
      // Another site (localhost is not 127.0.0.1), then the same site on another port: SameSite ignores ports.
      for (const [origin, sameSite] of [
        [`http://localhost:${attackerPort}`, false],
        [`http://127.0.0.1:${attackerPort}`, true],
      ] as const) {
        const attack = await context.newPage();
        const formPost = attack.waitForRequest((request) => isRefresh(request.url()));
        const refusals: number[] = [];
        attack.on('response', (response) => {
          if (isRefresh(response.url()) && response.request().method() === 'POST')
            refusals.push(response.status());
        });
        await attack.goto(origin);
        const formHeaders = await (await formPost).allHeaders();
        // Across sites the browser does not even attach the cookie; within the site the server refuses the form.
        expect(formHeaders.cookie?.includes('leonidas_refresh') ?? false).toBe(sameSite);
        const fetched = await attack.evaluate(async (url) => {
          const outcome = (request: Promise<Response>) =>
            request.then(
              (response) => `answered ${response.type} ${response.status}`,
              () => 'failed',
            );
          return {
            json: await outcome(
              fetch(url, {
                method: 'POST',
                credentials: 'include',
                headers: { 'content-type': 'application/json' },
                body: '{"json":{}}',
              }),
            ),
            noCors: await outcome(
              fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"json":{}}' }),
            ),
          };
        }, target);
        // JSON needs a preflight, which this origin fails, so it is never sent. A no-cors post is refused as the
        // form is, and its answer is withheld from the page besides (Cross-Origin-Resource-Policy).
        expect(fetched).toEqual({ json: 'failed', noCors: 'failed' });
        await expect.poll(() => refusals.length).toBeGreaterThanOrEqual(1);
        expect(new Set(refusals)).toEqual(new Set([415]));
        await attack.close();
      }
    } finally {
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
    // Not rotated: the browser's cookie is the one it had, and it still signs the user in.
    expect((await refreshCookies(context)).value).toBe(before);
    const refreshed = page.waitForResponse((response) => isRefresh(response.url()));
    await page.reload();
    expect((await refreshed).status()).toBe(200);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect(refused).toEqual([]);
    await context.close();
  });

  it('logs out: drafts, the access token and the cookie go, and a reload stays signed out', async () => {
    const context = await browser!.newContext();
    const { page, refused } = await signUpIn(context);
    await page.getByLabel('New project name').fill('Drafts');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: /Drafts/ }).click();
    await page.getByRole('button', { name: 'New chat' }).click();
    // The chat loaded (its title is read with its history), as a person sees it before logging out: a read still
    // on its way when the sign-in is revoked is refused, rightly, and is not what this test is about.
    await page.getByRole('heading', { name: 'New chat' }).waitFor();
    await page.getByLabel('Message DS Bro').fill('a half-written thought');
    await expect
      .poll(async () => (await readableByScripts(page)).local.map(([key]) => key))
      .toContainEqual(expect.stringMatching(/^leonidas\.draft\./));

    const loggedOut = page.waitForResponse((response) => response.url().includes('/trpc/auth.logout'));
    await page.getByRole('button', { name: 'Log out' }).click();
    expect((await loggedOut).status()).toBe(200);
    await page.getByRole('heading', { name: 'Log in to Leonidas' }).waitFor();
    expect((await readableByScripts(page)).local).toEqual([]);
    expect((await refreshCookies(context)).cookies).toEqual([]);

    await page.reload();
    await page.getByRole('heading', { name: 'Log in to Leonidas' }).waitFor();
    await page.goto(baseUrl);
    await page.getByRole('heading', { name: 'Log in to Leonidas' }).waitFor();
    expect(refused).toEqual([]);
    await context.close();
  });

  it('moves tokens stored by an earlier version into the cookie, and forgets them', async () => {
    const stored = await createLeonidasClient({ url: baseUrl }).auth.register.mutate({
      email: `upgrade.${Date.now()}@example.com`,
      password: 'a long password',
    });
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.evaluate((tokens) => localStorage.setItem('leonidas.auth', JSON.stringify(tokens)), {
      user: stored.user,
      accessToken: stored.accessToken,
      refreshToken: stored.refreshToken,
      expiresAt: Date.now() + 60_000,
    });
    await page.goto(baseUrl);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect((await readableByScripts(page)).local).toEqual([['leonidas.signedIn', 'yes']]);
    expect((await refreshCookies(context)).value).toMatch(/^[\w-]{43}$/);
    await context.close();
  });
});

describe('DS Bro with a language model, in a browser', () => {
  /** 36 words a second apart: a reply that outlives a 30-second access token. */
  const PATIENT_WORDS = Array.from({ length: 36 }, (_, i) => `p${i}`);
  const PRO_SQL = "SELECT count(*) AS pro_customers FROM customers WHERE plan = 'pro'";
  let model: Awaited<ReturnType<typeof startOpenAiServer>> | undefined;
  let modelServer: ServerProcess | undefined;
  let modelUrl = '';
  const modelDataDir = mkdtempSync(join(tmpdir(), 'leonidas-e2e-model-'));

  beforeAll(async () => {
    model = await startOpenAiServer((request) => {
      if (request.lastUserText === 'take your time')
        return PATIENT_WORDS.map((word) => ({ text: `${word} `, delayMs: 1000 }));
      if (request.lastUserText === 'how many pro customers?')
        return [{ toolCall: { id: 'call_pro', name: 'run_sql', input: { sql: PRO_SQL } } }];
      // One number from the query's result, one made up.
      if (request.hasToolResult && request.lastUserText.includes('pro_customers'))
        return [{ text: 'There are 2 pro customers, and 37 of them renewed last year.' }];
      return [
        { text: 'Here it is: ![x](http://example.com/a.png) ' },
        { text: 'and [the docs](https://example.com/docs), <img src="http://example.com/b.png"> ' },
        { text: 'or [your projects](/).' },
      ];
    });
    const port = await freePort();
    modelUrl = `http://127.0.0.1:${port}`;
    modelServer = startServerProcess({
      PORT: String(port),
      DATA_DIR: modelDataDir,
      CORS_ORIGINS: modelUrl,
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: model.baseUrl,
      OPENAI_API_KEY: 'local',
      OPENAI_MODEL: 'stand-in',
      ACCESS_TOKEN_TTL_SECONDS: '30',
      LOG_LEVEL: 'warn',
    });
    await waitForHealthy(modelUrl, modelServer);
  });
  afterAll(async () => {
    await modelServer?.stop();
    await model?.stop();
    rmSync(modelDataDir, { recursive: true, force: true });
  });

  async function newChat(label: string, upload?: { name: string; content: string }) {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => requested.push(request.url()));
    // A failure here is most often a reply that said something else: show what it said, and what the server logged.
    onTestFailed(async () => {
      const said = await page
        .getByRole('log', { name: 'Conversation' })
        .textContent({ timeout: 2_000 })
        .catch((error: unknown) => `(no conversation: ${String(error)})`);
      // One line, so that CI's list of failures can show it whole.
      const logged = modelServer?.output().slice(-1_500) ?? '';
      console.error(
        `[${label}] what the chat showed: ${JSON.stringify(said)}; the server's log ends: ${JSON.stringify(logged)}`,
      );
    });
    await page.goto(`${modelUrl}/signup`);
    await page.getByLabel('Email').fill(`${label}.${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a long password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New project name').fill(label);
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: new RegExp(label) }).click();
    if (upload) {
      await page
        .getByLabel('Upload CSV files')
        .setInputFiles({ name: upload.name, mimeType: 'text/csv', buffer: Buffer.from(upload.content) });
      await page
        .getByRole('list', { name: 'Project files' })
        .getByText('ready')
        .waitFor({ timeout: SERVER_WORK_MS });
    }
    await page.getByRole('button', { name: 'New chat' }).click();
    const ask = async (question: string) => {
      await page.getByLabel('Message DS Bro').fill(question);
      await page.getByLabel('Message DS Bro').press('Enter');
    };
    return { context, page, problems, requested, ask };
  }

  it('shows no image and no link to elsewhere from a reply, only links within the app', async () => {
    const { context, page, problems, requested, ask } = await newChat('pictures');
    await ask('show me a picture');
    const reply = page.getByRole('article', { name: "DS Bro's reply" }).last();
    await reply.getByText('your projects').waitFor({ timeout: SERVER_WORK_MS });
    expect(await reply.locator('img').count()).toBe(0);
    expect(await reply.locator('a[href*="example.com"]').count()).toBe(0);
    await reply.getByText('[image: x, not shown]').waitFor();
    await reply.getByText('the docs (https://example.com/docs)').waitFor();
    expect(await reply.getByRole('link', { name: 'your projects' }).getAttribute('href')).toBe('/');
    expect(requested.filter((url) => url.includes('example.com'))).toEqual([]);
    expect(problems).toEqual([]);
    await shoot(page, '07-reply-without-outside-content');
    await context.close();
  });

  it('carries a reply across the expiry of its access token: no gap, no repeat, no error', async () => {
    const { context, page, problems, ask } = await newChat('patience');
    const renewals: number[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/trpc/auth.refresh' && response.ok())
        renewals.push(Date.now());
    });
    const asked = Date.now();
    await ask('take your time');
    const reply = page.getByRole('article', { name: "DS Bro's reply" }).last();
    await reply.getByText('p35').waitFor({ timeout: SERVER_WORK_MS });
    await page
      .getByRole('log', { name: 'Conversation' })
      .getByText('DS Bro is writing')
      .waitFor({ state: 'detached' });
    expect((await reply.textContent())?.trim()).toBe(PATIENT_WORDS.join(' '));
    expect(await page.getByText('Live updates stopped').count()).toBe(0);
    // The reply outlived the 30-second token it started with, which the app renewed on its own.
    expect(Date.now() - asked).toBeGreaterThan(30_000);
    expect(renewals.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('marks a number no tool result holds, and says where a checked one came from', async () => {
    const { context, page, problems, ask } = await newChat('checked', {
      name: 'customers.csv',
      content: CSV,
    });
    await ask('how many pro customers?');
    const reply = page.getByRole('article', { name: "DS Bro's reply" }).last();
    await reply.getByText('renewed last year').waitFor({ timeout: SERVER_WORK_MS });
    const invented = reply.locator('mark[data-number="unverified"]');
    await invented.waitFor({ timeout: SERVER_WORK_MS });
    expect(await invented.ariaSnapshot()).toBe('- mark: 37 (unverified)');
    expect(await invented.getAttribute('title')).toMatch(/^Unverified: no tool result holds this number/);
    const checked = reply.locator('[data-number="verified"]');
    expect(await checked.textContent()).toBe('2');
    expect(await checked.getAttribute('title')).toBe(`Verified: from the result q1 of run_sql: ${PRO_SQL}`);
    // The same, for keyboards and screen readers.
    await reply.getByRole('button', { name: 'Numbers checked: 1 verified, 1 unverified' }).click();
    const list = reply.getByRole('list', { name: 'Checked numbers' });
    expect(await list.getByRole('listitem').allTextContents()).toEqual([
      `2: verified, from the result q1 of run_sql: ${PRO_SQL}`,
      '37: unverified, not found in the results of the tools DS Bro used',
    ]);
    await shoot(page, '13-checked-numbers');
    expect(problems).toEqual([]);
    await context.close();
  });
});
