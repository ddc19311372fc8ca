/**
 * The baseline for project-list.bench.ts: a plain Express handler doing the same work as `project.list`
 * (verify the HS256 access token, one consistent Query of the user's projects, JSON out), nothing else.
 */
import { createSecretKey } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, type DynamoConnection } from '@leonidas/db';
import express from 'express';
import jwt from 'jsonwebtoken';

const [connection, tableName, secret, port] = process.argv.slice(2) as [string, string, string, string];
const documentClient = createDocumentClient(JSON.parse(connection) as DynamoConnection);
// As the server does: a KeyObject made once (raw bytes make jsonwebtoken try a PEM parse on every call).
const key = createSecretKey(Buffer.from(secret));
const app = express();

app.get('/projects', async (req, res) => {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  let userId: string;
  try {
    const payload = jwt.verify(token ?? '', key, {
      algorithms: ['HS256'],
      issuer: 'leonidas',
      audience: 'leonidas-api',
    }) as jwt.JwtPayload;
    userId = String(payload.sub);
  } catch {
    res.status(401).json({ error: 'unauthorized' });
    return;
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
  const items = Items.slice(0, 20).map((item) => ({
    id: item.projectId,
    name: item.name,
    description: item.description,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  }));
  res.json({ items, nextCursor: null });
});

app.listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
