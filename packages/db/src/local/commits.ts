import { type DynamoDBClient, GetItemCommand, type TransactWriteItemsInput } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../table.js';

/**
 * DynamoDB Local answers a TransactWriteItems once the transaction's COMMIT is queued, not run (its
 * `SQLiteDBAccess.commitTransaction` queues the job and returns), so a JVM killed at that moment loses a write
 * the caller was told is done: CI lost a project the API had returned that way. Its database jobs run one at a
 * time, in order, so a read sent after the answer returns only after the COMMIT: each transaction's call waits
 * for one, a GetItem of a key no item has (a DescribeTable would do, but it counts the table's items each time).
 * One read serves every transaction answered before it is sent (`CommitWaits`).
 */
export function waitForCommits(client: DynamoDBClient): void {
  const waits = new Map<string, CommitWaits>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (context.commandName === 'TransactWriteItemsCommand') {
        const tableName = tableOf(args.input as TransactWriteItemsInput);
        if (tableName) {
          let table = waits.get(tableName);
          if (!table) {
            table = new CommitWaits(() =>
              client.send(new GetItemCommand({ TableName: tableName, Key: NO_ITEM })),
            );
            waits.set(tableName, table);
          }
          await table.wait();
        }
      }
      return output;
    },
    { step: 'initialize', name: 'leonidasWaitForCommit' },
  );
}

/**
 * The reads that wait for COMMITs, shared: a read covers every transaction answered before it is sent, so
 * transactions answered while one is on its way share the next, sent once that one is back (at most one at a
 * time, as a group commit does). Alone, a transaction waits for one read, as before; a hundred answered in one
 * burst wait for two or three instead of sending a hundred, each a job on DynamoDB Local's one database thread.
 */
export class CommitWaits {
  /** The read on its way, if any. */
  private sent: Promise<unknown> | undefined;
  /** The next read, not yet sent: whoever is answered before it goes waits for it. */
  private next: Promise<void> | undefined;

  constructor(private readonly read: () => Promise<unknown>) {}

  wait(): Promise<void> {
    if (this.next) return this.next;
    // Sent after the read on its way is back, or on the next turn of the event loop (which gathers the
    // transactions answered in this one).
    const ready = this.sent
      ? this.sent.then(
          () => undefined,
          () => undefined,
        )
      : new Promise<void>((resolve) => setImmediate(resolve));
    const next = ready.then(() => {
      // From here on, an answer may come after this read is sent: it waits for the next one.
      this.next = undefined;
      const sent = this.read();
      this.sent = sent;
      const done = () => {
        if (this.sent === sent) this.sent = undefined;
      };
      sent.then(done, done);
      return sent.then(() => undefined);
    });
    this.next = next;
    return next;
  }
}

/** A key in the table's own key attributes that no item has (ids never start with `#`). */
const NO_ITEM = {
  [tableDefinition.partitionKey]: { S: '#commit' },
  [tableDefinition.sortKey]: { S: '#commit' },
};

function tableOf(input: TransactWriteItemsInput): string | undefined {
  const [first] = input.TransactItems ?? [];
  return (first?.Put ?? first?.Update ?? first?.Delete ?? first?.ConditionCheck)?.TableName;
}
