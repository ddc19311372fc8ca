import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiDeps, appRouter, createContext, retryAfterSecondsOf } from '@leonidas/api';
import { type Db, pingTable } from '@leonidas/db';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import cors from 'cors';
import express from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { allowedHosts, requireAllowedHost } from './allowed-hosts.js';
import type { ServerEnv } from './env.js';
import { requestBounds } from './request-bounds.js';
import { requestLog } from './request-log.js';

export interface AppOptions {
  env: ServerEnv;
  deps: ApiDeps;
  db: Db;
  logger: Logger;
  /** Origins the browser talks to besides this server: the object store it uploads to directly. */
  storageOrigins: string[];
}

export function createApp({ env, deps, db, logger, storageOrigins }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', env.TRUST_PROXY);
  app.use(requireAllowedHost(allowedHosts(env)));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          connectSrc: ["'self'", ...storageOrigins],
          // Local installs are plain http; upgrading the browser's uploads to https would break them.
          upgradeInsecureRequests: null,
        },
      },
    }),
  );
  app.use(requestLog(logger, { ignore: (path) => path === '/healthz' }));
  app.use(
    cors({
      origin: env.CORS_ORIGINS,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'last-event-id'],
      maxAge: 600,
    }),
  );

  app.get('/healthz', async (_req, res) => {
    const dbUp = await pingTable(db);
    res.status(dbUp ? 200 : 503).json({ status: dbUp ? 'ok' : 'unavailable', db: dbUp ? 'up' : 'down' });
  });

  app.use(
    '/trpc',
    requestBounds(env.MAX_BODY_BYTES),
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) =>
        createContext(deps, {
          authorization: req.headers.authorization,
          clientIp: req.ip,
          cookies: {
            header: req.headers.cookie,
            // As `trust proxy` allows: X-Forwarded-Proto counts only from the proxies TRUST_PROXY trusts.
            https: req.secure,
            basePath: req.baseUrl,
            setCookie: (value) => res.append('set-cookie', value),
          },
        }),
      maxBodySize: env.MAX_BODY_BYTES,
      maxBatchSize: env.MAX_BATCH_SIZE,
      responseMeta: ({ errors }) => {
        const retryAfter = errors.map(retryAfterSecondsOf).find((seconds) => seconds !== undefined);
        return retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } };
      },
      onError: ({ error, path, type }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          logger.error({ err: error.cause ?? error, path, type }, 'procedure failed');
      },
    }),
  );

  serveWebApp(app, env.WEB_DIST_DIR, logger);

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });
  return app;
}

/** The built single-page app: its files, and index.html for every other page path (client-side routes). */
function serveWebApp(app: express.Express, directory: string, logger: Logger): void {
  const index = join(directory, 'index.html');
  if (!existsSync(index)) {
    logger.warn({ directory }, 'web app not built: run `pnpm build` to serve it at /');
    return;
  }
  app.use(express.static(directory, { index: false, maxAge: '1h' }));
  app.use((req, res, next) => {
    if (req.method !== 'GET' || req.path.startsWith('/trpc') || !req.accepts('html')) return next();
    res.sendFile(index, { headers: { 'cache-control': 'no-cache' } });
  });
}
