import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyPage, StartKey } from '@leonidas/db';
import { z } from 'zod';
import { AppError } from './errors.js';

export const pageInput = {
  cursor: z.string().min(1).max(2048).optional(),
  limit: z.number().int().min(1).max(100).default(20),
  /** Sent by TanStack Query's infinite queries (through @trpc/tanstack-react-query); pages only go one way. */
  direction: z.enum(['forward', 'backward']).optional(),
};

export const pageOf = <ITEM extends z.ZodType>(item: ITEM) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/**
 * Cursors carry DynamoDB's start key, signed and bound to one listing (`scope`, e.g. the user's project list),
 * so a forged, tampered or borrowed cursor is refused as BAD_REQUEST instead of reaching DynamoDB.
 */
export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  encode(scope: string, key: StartKey): string {
    const payload = Buffer.from(JSON.stringify(key)).toString('base64url');
    return `${payload}.${this.sign(scope, payload)}`;
  }

  decode(scope: string, cursor: string | undefined): StartKey | undefined {
    if (cursor === undefined) return undefined;
    const [payload, signature, ...rest] = cursor.split('.');
    if (!payload || !signature || rest.length > 0) throw invalidCursor();
    const expected = Buffer.from(this.sign(scope, payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalidCursor();
    const key: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalidCursor();
    return key as StartKey;
  }

  page<RECORD, ITEM>(scope: string, page: KeyPage<RECORD>, toItem: (record: RECORD) => ITEM) {
    return {
      items: page.items.map(toItem),
      nextCursor: page.nextKey ? this.encode(scope, page.nextKey) : null,
    };
  }

  private sign(scope: string, payload: string): string {
    return createHmac('sha256', this.secret).update(`${scope}\n${payload}`).digest('base64url');
  }
}

function invalidCursor(): AppError {
  return new AppError('BAD_REQUEST', 'This cursor is not valid for this list. Start again without a cursor.');
}
