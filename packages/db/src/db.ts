import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createEntities, type LeonidasEntities } from './entities.js';
import { createTable, type LeonidasTable } from './table.js';

export interface Db {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  table: LeonidasTable;
  entities: LeonidasEntities;
}

export function createDb(documentClient: DynamoDBDocumentClient, tableName: string): Db {
  const table = createTable(documentClient, tableName);
  return { tableName, documentClient, table, entities: createEntities(table) };
}
