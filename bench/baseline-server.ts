/**
 * The baselines for project-list.bench.ts, doing the same work as `project.list` (verify the HS256 access token,
 * one consistent Query of the user's projects, the page out) and nothing else:
 * - `GET /projects`: a plain Express handler, JSON out;
 * - `GET /trpc/projects`: the same as a tRPC query through tRPC's Express adapter with superjson (dates as
 *   dates, as Leonidas answers): the floor of the stack the design names, before any of Leonidas' own work.
 */
import { createSecretKey } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, type DynamoConnection } from '@leonidas/db';
import { initTRPC, TRPCError } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import jwt from 'jsonwebtoken';
import superjson from 'superjson';

const [connection, tableName, secret, port] = process.argv.slice(2) as [string, string, string, string];
const documentClient = createDocumentClient(JSON.parse(connection) as DynamoConnection);
// As the server does: a KeyObject made once (raw bytes make jsonwebtoken try a PEM parse on every call).
const key = createSecretKey(Buffer.from(secret));

/** The signed-in user's first page of projects, or null when the access token does not verify. */
async function projectsOf(authorization: string | undefined) {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  let userId: string;
  try {
    const payload = jwt.verify(token ?? '', key, {
      algorithms: ['HS256'],
      issuer: 'leonidas',
      audience: 'leonidas-api',
    }) as jwt.JwtPayload;
    userId = String(payload.sub);
  } catch {
    return null;
  }
  const { Items = [] } = await documentClient.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':prefix': 'PROJECT#' },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: 21,
    }),
  );
  return Items.slice(0, 20).map((item) => ({
    id: String(item.projectId),
    name: String(item.name),
    description: String(item.description),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  }));
}

const t = initTRPC.context<{ authorization: string | undefined }>().create({ transformer: superjson });
const router = t.router({
  projects: t.procedure.query(async ({ ctx }) => {
    const items = await projectsOf(ctx.authorization);
    if (!items) throw new TRPCError({ code: 'UNAUTHORIZED' });
    return {
      items: items.map((item) => ({
        ...item,
        createdAt: new Date(item.createdAt),
        updatedAt: new Date(item.updatedAt),
      })),
      nextCursor: null,
    };
  }),
});

const app = express();

app.get('/projects', async (req, res) => {
  const items = await projectsOf(req.headers.authorization);
  if (!items) {
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  res.json({ items, nextCursor: null });
});

app.use(
  '/trpc',
  createExpressMiddleware({
    router,
    createContext: ({ req }) => ({ authorization: req.headers.authorization }),
  }),
);

app.listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
