import { once } from 'node:events';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLog } from './request-log.js';

interface Line {
  level: number;
  msg: string;
  req: { id: number; method: string; url: string };
  res: { statusCode: number };
  responseTime: number;
}

describe('requestLog', () => {
  const lines: Line[] = [];
  const raw: string[] = [];
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw.push(chunk.toString());
        lines.push(JSON.parse(chunk.toString()) as Line);
        done();
      },
    });
    const app = express();
    app.use(requestLog(pino({ level: 'info' }, sink), { ignore: (path) => path === '/healthz' }));
    app.get('/healthz', (_req, res) => void res.send('ok'));
    app.get('/fine', (_req, res) => void res.json({ ok: true }));
    app.get('/broken', (_req, res) => void res.status(500).json({ error: 'no' }));
    app.get('/slow', (_req, res) => void setTimeout(() => res.end(), 5_000).unref());
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const waitForLines = async (count: number) => {
    for (let i = 0; i < 100 && lines.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toHaveLength(count);
  };

  it('logs the path, status and time of each request, never its query string or headers', async () => {
    lines.length = 0;
    await fetch(`${base}/fine?input=${encodeURIComponent('{"secret":"hunter2"}')}`, {
      headers: { authorization: 'Bearer token-in-a-header', cookie: 'leonidas_refresh=cookie-value' },
    });
    await fetch(`${base}/fine`);
    await waitForLines(2);
    const [first, second] = lines as [Line, Line];
    expect(first).toMatchObject({ msg: 'request completed', req: { method: 'GET', url: '/fine' } });
    expect(first.res.statusCode).toBe(200);
    expect(first.responseTime).toBeGreaterThanOrEqual(0);
    expect(second.req.id).toBeGreaterThan(first.req.id);
    for (const secret of ['hunter2', 'input=', 'token-in-a-header', 'cookie-value'])
      expect(raw.join('')).not.toContain(secret);
  });

  it('logs a server error as an error and skips the health check', async () => {
    lines.length = 0;
    await fetch(`${base}/healthz`);
    await fetch(`${base}/broken`);
    await waitForLines(1);
    expect(lines[0]).toMatchObject({ msg: 'request errored', level: 50, res: { statusCode: 500 } });
  });

  it('says so when the client leaves before the answer', async () => {
    lines.length = 0;
    const request = httpRequest(`${base}/slow`);
    request.on('error', () => {});
    request.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    request.destroy();
    await waitForLines(1);
    expect(lines[0]).toMatchObject({ msg: 'request aborted', level: 40, req: { url: '/slow' } });
  });
});
