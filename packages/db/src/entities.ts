import { $set, any, boolean, Entity, item, list, number, record, string } from 'dynamodb-toolbox';
import type { CsvMetadata, NumberCheck, Provenance, ToolCall, Usage } from './shapes.js';
import type { LeonidasTable } from './table.js';

/**
 * Entity names are stored on every item (`_et`) and can never change once data exists.
 * Keys are built from prefixes; the access patterns they serve are listed in this package's README.
 */
const timestamps = {
  created: { name: 'createdAt', savedAs: 'createdAt' },
  modified: { name: 'updatedAt', savedAs: 'updatedAt' },
} as const;

/** The values of the stored enums, once: the entities, the record types and the API's schemas use these. */
export const FILE_STATUSES = ['UPLOADING', 'PROCESSING', 'COMPLETED', 'FAILED'] as const;
export const FILE_SOURCES = ['USER_UPLOAD', 'APP_GENERATED'] as const;
export const MESSAGE_ROLES = ['user', 'assistant'] as const;
export const MESSAGE_STATUSES = ['complete', 'streaming', 'cancelled', 'error'] as const;

/**
 * An update of a document attribute (`any().castAs<T>()`: a profile, tool calls, usage, number checks) that
 * replaces it whole. A plain value there would be written path by path (`SET metadata.rowCount = ...`), which
 * fails when the attribute is missing, and dynamodb-toolbox's types do not offer `$set` on such attributes
 * although it writes them correctly (checked against DynamoDB Local by every test that completes a file or a
 * reply): this is the one place that says so to the type checker.
 */
export function wholeDocument<DOCUMENT>(value: DOCUMENT): DOCUMENT {
  return $set(value) as unknown as DOCUMENT;
}

/**
 * Tool calls are kept as JSON text: a query result can hold any double (1e20, 1e-200), while a DynamoDB number
 * holds 38 digits between 1e-130 and 1e126 and the SDK refuses numbers past 2^53, so as a map such a reply
 * could not be saved at all. Tool calls stored as maps before read as they were.
 */
const jsonText = {
  encode: (value: unknown) => JSON.stringify(value),
  decode: (stored: unknown): unknown => (typeof stored === 'string' ? JSON.parse(stored) : stored),
};

export function createEntities(table: LeonidasTable) {
  const user = new Entity({
    name: 'USER',
    table,
    timestamps,
    schema: item({
      userId: string().key(),
      email: string(),
      name: string(),
      passwordHash: string(),
    }),
    computeKey: ({ userId }) => ({ pk: `USER#${userId}`, sk: 'USER' }),
  });

  /** Claims a normalised email for one user; written in the same transaction as the user. */
  const emailClaim = new Entity({
    name: 'EMAIL_CLAIM',
    table,
    timestamps: false,
    schema: item({
      email: string().key(),
      userId: string(),
    }),
    computeKey: ({ email }) => ({ pk: `EMAIL#${email}`, sk: 'EMAIL' }),
  });

  /**
   * Failed-login bookkeeping per normalised email and client address, whether or not an account exists (no
   * enumeration). Per address, so failures from one place never lock the owner out from another.
   */
  const loginGuard = new Entity({
    name: 'LOGIN_GUARD',
    table,
    timestamps: false,
    schema: item({
      email: string().key(),
      address: string().key(),
      failures: number(),
      lockedUntil: number().optional(),
      ttl: number(),
    }),
    computeKey: ({ email, address }) => ({ pk: `LOGIN#${email}`, sk: `ADDRESS#${address}` }),
  });

  /** One login on one device: every refresh token it is ever rotated into belongs to the family. */
  const refreshFamily = new Entity({
    name: 'REFRESH_FAMILY',
    table,
    timestamps,
    schema: item({
      familyId: string().key(),
      userId: string(),
      revokedAt: string().optional(),
      ttl: number(),
    }),
    computeKey: ({ familyId }) => ({ pk: `REFRESH_FAMILY#${familyId}`, sk: 'FAMILY' }),
  });

  /** Stored under the SHA-256 of the token; the token itself is never stored. */
  const refreshToken = new Entity({
    name: 'REFRESH_TOKEN',
    table,
    timestamps,
    schema: item({
      tokenHash: string().key(),
      familyId: string(),
      userId: string(),
      expiresAt: number(),
      rotatedAt: string().optional(),
      ttl: number(),
    }),
    computeKey: ({ tokenHash }) => ({ pk: `REFRESH#${tokenHash}`, sk: 'REFRESH' }),
  });

  /**
   * What one user holds, changed in the same transaction as every create and delete it counts, under the
   * quota's condition: limits hold under concurrency without counting items per request. Created on first
   * need by counting the user's data (see `ensureUsage`). `storedBytes` counts every file from the moment
   * its upload is created (declared size, so concurrent uploads cannot overshoot) and a completed file at its
   * real size; `pendingUploads` maps each unconfirmed upload to when its URL expires (epoch ms).
   */
  const usage = new Entity({
    name: 'USAGE',
    table,
    timestamps,
    schema: item({
      userId: string().key(),
      projects: number(),
      sessions: number(),
      /** Every file's size: declared from the moment its upload is created, the real size once completed. */
      storedBytes: number(),
      /** Declared sizes of the uploads not yet confirmed (also counted in `storedBytes`). */
      pendingBytes: number(),
      /** Each unconfirmed upload's file id and when its upload URL expires (epoch ms). */
      pendingUploads: record(string(), number()),
    }),
    computeKey: ({ userId }) => ({ pk: `USER#${userId}`, sk: 'USAGE' }),
  });

  const project = new Entity({
    name: 'PROJECT',
    table,
    timestamps,
    schema: item({
      userId: string().key(),
      projectId: string().key(),
      name: string(),
      description: string(),
      version: number(),
    }),
    computeKey: ({ userId, projectId }) => ({ pk: `USER#${userId}`, sk: `PROJECT#${projectId}` }),
  });

  /**
   * A file of a project. `gsi3pk`/`gsi3sk` exist only while the upload waits for confirmation (a sparse index
   * the sweep reads); `metadata` is the CSV profile once processed.
   */
  const file = new Entity({
    name: 'FILE',
    table,
    timestamps,
    schema: item({
      fileId: string().key(),
      userId: string(),
      projectId: string(),
      filename: string(),
      contentType: string(),
      size: number(),
      status: string().enum(...FILE_STATUSES),
      source: string().enum(...FILE_SOURCES),
      objectKey: string(),
      uploadExpiresAt: number(),
      processingStartedAt: number().optional(),
      failureReason: string().optional(),
      metadata: any().castAs<CsvMetadata>().optional(),
      /** For files DS Bro made: the session, message, SQL and source files they came from. */
      provenance: any().castAs<Provenance>().optional(),
      version: number(),
      gsi3pk: string().optional().hidden(),
      gsi3sk: string().optional().hidden(),
    }).and((schema) => ({
      gsi1pk: string()
        .hidden()
        .link<typeof schema>(({ projectId }) => `PROJECT#${projectId}`),
      gsi1sk: string()
        .hidden()
        .link<typeof schema>(({ fileId }) => `FILE#${fileId}`),
      gsi2pk: string()
        .hidden()
        .link<typeof schema>(({ projectId, source }) => `PROJECT#${projectId}#SOURCE#${source}`),
      gsi2sk: string()
        .hidden()
        .link<typeof schema>(({ fileId }) => fileId),
    })),
    computeKey: ({ fileId }) => ({ pk: `FILE#${fileId}`, sk: 'FILE' }),
  });

  /**
   * A chat session. `activeRunId` is set while a reply is being written: one run at a time per session.
   * `messageCount` counts its messages for the per-session quota (missing on sessions older than the quota
   * until their first send counts them). The conversation is a tree (see `tree.ts`): `rootIds` are its first
   * messages (versions of the first question), `activeLeafId` ends the branch shown and continued, and
   * `treeVersion` changes with every change of the tree, so that two changes never interleave. Sessions
   * older than the tree have no `treeVersion` until they are adopted (`adoptStraightHistory`).
   */
  const session = new Entity({
    name: 'SESSION',
    table,
    timestamps,
    schema: item({
      sessionId: string().key(),
      userId: string(),
      projectId: string(),
      title: string(),
      activeRunId: string().optional(),
      messageCount: number().optional(),
      /** How many queries DS Bro has run in the session: its results are `q1`, `q2`, ... */
      queryCount: number().optional(),
      activeLeafId: string().optional(),
      rootIds: list(string()).optional(),
      treeVersion: number().optional(),
      version: number(),
    }).and((schema) => ({
      gsi1pk: string()
        .hidden()
        .link<typeof schema>(({ projectId }) => `PROJECT#${projectId}`),
      gsi1sk: string()
        .hidden()
        .link<typeof schema>(({ sessionId }) => `SESSION#${sessionId}`),
    })),
    computeKey: ({ sessionId }) => ({ pk: `SESSION#${sessionId}`, sk: 'SESSION' }),
  });

  /**
   * A message, in its session's partition in time order. While an assistant message is being written it sits
   * in the sparse `GSI3` partition STREAMING_MESSAGE, so messages left behind by a crash can be found.
   * In the conversation tree, `parentId` is the message it follows (none for a first message), `depth` its
   * place on its branch (0 first), `ancestors` the ids above it, nearest first, up to `MAX_ANCESTORS` (what
   * reads a page of its branch in one batch), and `childIds` the messages that follow it, oldest first.
   */
  const message = new Entity({
    name: 'MESSAGE',
    table,
    timestamps,
    schema: item({
      sessionId: string().key(),
      messageId: string().key(),
      role: string().enum(...MESSAGE_ROLES),
      content: string(),
      status: string().enum(...MESSAGE_STATUSES),
      runId: string().optional(),
      clientMessageId: string().optional(),
      provider: string().optional(),
      model: string().optional(),
      toolCalls: any().castAs<ToolCall[]>().transform(jsonText).optional(),
      usage: any().castAs<Usage>().optional(),
      error: string().optional(),
      /** The numbers of a finished reply, each checked against the run's tool results. */
      numbers: any().castAs<NumberCheck[]>().optional(),
      cancelRequested: boolean().optional(),
      /** The message this one follows; none for a first message (see `tree.ts`). */
      parentId: string().optional(),
      /** 0 for a first message; missing only on messages older than the tree, until their session is adopted. */
      depth: number().optional(),
      /** The ids above this message, nearest first, at most `MAX_ANCESTORS`. */
      ancestors: list(string()).optional(),
      /** The messages that follow this one, oldest first. */
      childIds: list(string()).optional(),
      /** On a question written by editing another: when (the old one is kept beside it). */
      editedAt: string().optional(),
      gsi3pk: string().optional().hidden(),
      gsi3sk: string().optional().hidden(),
    }),
    computeKey: ({ sessionId, messageId }) => ({ pk: `SESSION#${sessionId}`, sk: `MESSAGE#${messageId}` }),
  });

  /** Makes `chat.send` idempotent: the client's id, claimed in the same transaction as the message. */
  const clientMessage = new Entity({
    name: 'CLIENT_MESSAGE',
    table,
    timestamps: false,
    schema: item({
      sessionId: string().key(),
      clientMessageId: string().key(),
      messageId: string(),
      runId: string(),
    }),
    computeKey: ({ sessionId, clientMessageId }) => ({
      pk: `SESSION#${sessionId}`,
      sk: `CLIENT_MESSAGE#${clientMessageId}`,
    }),
  });

  /**
   * A tombstone: a project, session or message (with the messages below it) already gone from view whose
   * contents are still being deleted in the background. It sits in the sparse `GSI3` partition PENDING_DELETION until the cascade is done, so that
   * housekeeping finishes a cascade whose server died; `leaseUntil` (epoch ms) keeps two servers from
   * running the same one at once.
   */
  const deletion = new Entity({
    name: 'DELETION',
    table,
    timestamps,
    schema: item({
      kind: string().enum('PROJECT', 'SESSION', 'MESSAGE').key(),
      /** The project's, the session's or the message's id. */
      targetId: string().key(),
      userId: string(),
      projectId: string(),
      /** For a message: its session. */
      sessionId: string().optional(),
      /**
       * For a message: when several first messages go at once (a conversation started over), all of them;
       * `targetId` is the first. Each is deleted with everything below it.
       */
      messageIds: list(string()).optional(),
      /** Until when (epoch ms) the server that started or claimed the cascade owns it. */
      leaseUntil: number(),
      gsi3pk: string().hidden(),
      gsi3sk: string().hidden(),
    }),
    computeKey: ({ kind, targetId }) => ({ pk: `DELETION#${kind}#${targetId}`, sk: 'DELETION' }),
  });

  return {
    user,
    emailClaim,
    loginGuard,
    refreshFamily,
    refreshToken,
    usage,
    project,
    file,
    session,
    message,
    clientMessage,
    deletion,
  };
}

export type LeonidasEntities = ReturnType<typeof createEntities>;
