import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Table } from 'dynamodb-toolbox';

/**
 * The one definition of Leonidas' single table: used by `createTable` for local use, by the toolbox `Table`,
 * and by the Terraform check, so the three can never drift apart.
 */
export const tableDefinition = {
  partitionKey: 'pk',
  sortKey: 'sk',
  globalIndexes: [
    { name: 'GSI1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'GSI2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'GSI3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
  /** Epoch seconds; DynamoDB's TTL removes expired refresh tokens, login guards and swept uploads. */
  ttlAttribute: 'ttl',
  billingMode: 'PAY_PER_REQUEST',
} as const;

export type GlobalIndexName = (typeof tableDefinition.globalIndexes)[number]['name'];

const stringKey = (name: string) => ({ name, type: 'string' as const });

export function createTable(documentClient: DynamoDBDocumentClient, tableName: string) {
  const [gsi1, gsi2, gsi3] = tableDefinition.globalIndexes;
  return new Table({
    name: tableName,
    documentClient,
    partitionKey: stringKey(tableDefinition.partitionKey),
    sortKey: stringKey(tableDefinition.sortKey),
    indexes: {
      [gsi1.name]: {
        type: 'global',
        partitionKey: stringKey(gsi1.partitionKey),
        sortKey: stringKey(gsi1.sortKey),
      },
      [gsi2.name]: {
        type: 'global',
        partitionKey: stringKey(gsi2.partitionKey),
        sortKey: stringKey(gsi2.sortKey),
      },
      [gsi3.name]: {
        type: 'global',
        partitionKey: stringKey(gsi3.partitionKey),
        sortKey: stringKey(gsi3.sortKey),
      },
    } as const,
  });
}

export type LeonidasTable = ReturnType<typeof createTable>;

/** The key attributes that identify an item's position in the table or in one of its indexes. */
export function keyAttributesOf(index?: GlobalIndexName): string[] {
  const base = [tableDefinition.partitionKey, tableDefinition.sortKey];
  if (!index) return base;
  const gsi = tableDefinition.globalIndexes.find((candidate) => candidate.name === index);
  return gsi ? [...base, gsi.partitionKey, gsi.sortKey] : base;
}
