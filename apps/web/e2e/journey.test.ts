import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [join(webDir, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
    {
      cwd: webDir,
      stdio: 'inherit',
    },
  );
  buildServer();
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = startServerProcess({
    PORT: String(port),
    DATA_DIR: dataDir,
    CORS_ORIGINS: baseUrl,
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
    await files.getByText('ready').waitFor({ timeout: 30_000 });
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
    await reply.getByText('4 rows').waitFor({ timeout: 30_000 });
    await reply.getByRole('table').last().getByText('umbrella').waitFor({ timeout: 30_000 });
    await page.getByRole('note').getByText('running offline').waitFor();
    expect(await log.getByText('DS Bro is writing').count()).toBe(0);
    expect(await reply.textContent()).toContain('customers.csv has 4 rows and 4 columns');
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

  it('keeps a draft, sends on Enter only, stops a reply, explains a failed file, refreshes tokens silently, pages back', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Email').fill(`grace.${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a long password');
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
    await files.getByText('failed').waitFor({ timeout: 30_000 });
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
    await log.getByText('Stopped.').waitFor({ timeout: 15_000 });
    expect(await page.getByLabel('Message DS Bro').inputValue()).toBe('');

    // An access token about to expire is renewed before the next call; the user notices nothing.
    const before = await page.evaluate(() => {
      const auth = JSON.parse(localStorage.getItem('leonidas.auth') ?? '{}');
      localStorage.setItem('leonidas.auth', JSON.stringify({ ...auth, expiresAt: Date.now() }));
      return auth.refreshToken as string;
    });
    await page.reload();
    await page.getByRole('heading', { name: 'New chat' }).waitFor();
    await log.getByText('hello').waitFor();
    const after = await page.evaluate(
      () => JSON.parse(localStorage.getItem('leonidas.auth') ?? '{}').refreshToken as string,
    );
    expect(after).not.toBe(before);

    // A long chat (34 messages, more than one page of 30): older messages appear when scrolling up.
    const token = await page.evaluate(
      () => JSON.parse(localStorage.getItem('leonidas.auth') ?? '{}').accessToken as string,
    );
    const sessionId = page.url().split('/').at(-1) ?? '';
    const client = createLeonidasClient({ url: baseUrl, token });
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
    await log.getByText('question 0: what files do I have?').waitFor({ timeout: 15_000 });
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
});

describe('DS Bro with a language model, in a browser', () => {
  /** 36 words a second apart: a reply that outlives a 30-second access token. */
  const PATIENT_WORDS = Array.from({ length: 36 }, (_, i) => `p${i}`);
  let model: Awaited<ReturnType<typeof startOpenAiServer>> | undefined;
  let modelServer: ServerProcess | undefined;
  let modelUrl = '';
  const modelDataDir = mkdtempSync(join(tmpdir(), 'leonidas-e2e-model-'));

  beforeAll(async () => {
    model = await startOpenAiServer((request) => {
      if (request.lastUserText === 'take your time')
        return PATIENT_WORDS.map((word) => ({ text: `${word} `, delayMs: 1000 }));
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

  async function newChat(label: string) {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${modelUrl}/signup`);
    await page.getByLabel('Email').fill(`${label}.${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a long password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New project name').fill(label);
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: new RegExp(label) }).click();
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
    await reply.getByText('your projects').waitFor({ timeout: 30_000 });
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
    const before = await page.evaluate(() => JSON.parse(localStorage.getItem('leonidas.auth') ?? '{}'));
    await ask('take your time');
    const reply = page.getByRole('article', { name: "DS Bro's reply" }).last();
    await reply.getByText('p35').waitFor({ timeout: 60_000 });
    await page
      .getByRole('log', { name: 'Conversation' })
      .getByText('DS Bro is writing')
      .waitFor({ state: 'detached' });
    expect((await reply.textContent())?.trim()).toBe(PATIENT_WORDS.join(' '));
    expect(await page.getByText('Live updates stopped').count()).toBe(0);
    // The reply outlived the token it started with, which the app renewed on its own.
    const after = await page.evaluate(() => JSON.parse(localStorage.getItem('leonidas.auth') ?? '{}'));
    expect(Date.now()).toBeGreaterThan(before.expiresAt);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
