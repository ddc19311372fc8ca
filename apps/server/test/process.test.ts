import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLeonidasClient } from '@leonidas/client';
import { freePort } from '@leonidas/db/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, startServerProcess, stopAllServers, waitForHealthy } from './built-server.js';
import { uniqueEmail } from './helpers.js';

/** The production build, started as `pnpm start` starts it: embedded mode, a data folder, a real process. */
const dataDir = mkdtempSync(join(tmpdir(), 'leonidas-server-'));

beforeAll(buildServer);
afterAll(async () => {
  await stopAllServers();
  rmSync(dataDir, { recursive: true, force: true });
});

const startProcess = (env: Record<string, string>) => startServerProcess({ LOG_LEVEL: 'info', ...env });

describe('the built server in embedded mode', () => {
  it('keeps accounts and projects across a graceful restart', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { PORT: String(port), DATA_DIR: dataDir };
    const email = uniqueEmail('restart');

    const first = await startProcess(env);
    await waitForHealthy(url, first);
    const anonymous = createLeonidasClient({ url });
    const { accessToken } = await anonymous.auth.register.mutate({ email, password: 'pa55word!' });
    const client = createLeonidasClient({ url, token: accessToken });
    const project = await client.project.create.mutate({ name: 'Survives restarts' });

    // A CSV through the embedded s3rver, the way a browser sends it.
    const csv = 'city,visits\nParis,3\nZürich,5\n';
    const { file, upload } = await client.file.createUpload.mutate({
      projectId: project.id,
      filename: 'visits.csv',
      size: Buffer.byteLength(csv),
      contentType: 'text/csv',
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([csv]), 'visits.csv');
    expect((await fetch(upload.url, { method: 'POST', body: form })).status).toBe(204);
    const confirmed = await client.file.confirm.mutate({ fileId: file.id });
    expect(confirmed).toMatchObject({ status: 'COMPLETED', metadata: { rowCount: 2 } });

    // The offline DS Bro describes it, streamed over SSE.
    const session = await client.session.create.mutate({ projectId: project.id });
    const { runId } = await client.chat.send.mutate({
      sessionId: session.id,
      content: 'describe visits.csv',
      clientMessageId: 'd1',
    });
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      const subscription = client.chat.onEvents.subscribe(
        { sessionId: session.id },
        {
          onData: ({ data }) => {
            if (data.type === 'message.delta') text += data.text;
            if (data.type === 'message.completed' && data.runId === runId) {
              subscription.unsubscribe();
              resolve(text);
            }
          },
          onError: reject,
        },
      );
    });
    expect(reply).toContain('**visits.csv** has **2 rows** and **2 columns**');
    expect(reply).toContain('| visits | integer | 0 | 2 | 3 | 5 | 4 |');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    expect(first.output()).not.toContain(accessToken);

    const second = await startProcess(env);
    await waitForHealthy(url, second);
    // The same secret signs tokens after the restart: the old access token still works.
    expect((await createLeonidasClient({ url, token: accessToken }).project.list.query()).items).toEqual([
      project,
    ]);
    const login = await anonymous.auth.login.mutate({ email, password: 'pa55word!' });
    const again = createLeonidasClient({ url, token: login.accessToken });
    expect(await again.project.byId.query({ projectId: project.id })).toEqual(project);
    expect(await again.file.byId.query({ fileId: file.id })).toEqual(confirmed);
    expect(await again.file.preview.query({ fileId: file.id })).toEqual({
      columns: ['city', 'visits'],
      rows: [
        ['Paris', 3],
        ['Zürich', 5],
      ],
    });
    const download = await again.file.downloadUrl.query({ fileId: file.id });
    expect(await (await fetch(download.url)).text()).toBe(csv);

    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('refuses to start with a bad setting and names it, without a stack trace', async () => {
    const bad = await startProcess({ PORT: 'not-a-port', DATA_DIR: dataDir });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('PORT');
    expect(bad.output()).not.toMatch(/\n\s+at /);
  });

  it('asks for what cloud mode needs', async () => {
    const bad = await startProcess({ TABLE_NAME: 'leonidas', AWS_REGION: 'eu-west-1', DATA_DIR: dataDir });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('JWT_SECRET: required outside embedded mode');
    expect(bad.output()).toContain('S3_BUCKET: required outside embedded mode');
  });
});
