import { type DynamoDBClient, GetItemCommand, type TransactWriteItemsInput } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../table.js';

/**
 * DynamoDB Local answers a TransactWriteItems once the transaction's COMMIT is queued, not run (its
 * `SQLiteDBAccess.commitTransaction` queues the job and returns), so a JVM killed at that moment loses a write
 * the caller was told is done: CI lost a project the API had returned that way. Its database jobs run one at a
 * time, in order, so a read sent after the answer returns only after the COMMIT: each transaction's call waits
 * for one, a GetItem of a key no item has (a DescribeTable would do, but it counts the table's items each time).
 */
export function waitForCommits(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (context.commandName === 'TransactWriteItemsCommand') {
        const tableName = tableOf(args.input as TransactWriteItemsInput);
        if (tableName) await client.send(new GetItemCommand({ TableName: tableName, Key: NO_ITEM }));
      }
      return output;
    },
    { step: 'initialize', name: 'leonidasWaitForCommit' },
  );
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
