import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from './local/dynamodb-local.js';

/** One in-memory DynamoDB Local per test run (a JVM costs ~2.5 s); each test file makes its own table. */
export default async function setup(project: TestProject) {
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return async () => {
    await dynamo.stop();
  };
}
