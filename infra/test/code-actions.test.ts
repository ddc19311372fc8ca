import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  actionsFor,
  actionsTheCodeCalls,
  awsCallImports,
  cloudSourceFiles,
  testOnlyMethodCallers,
} from '../code-actions.js';

const repoRoot = join(import.meta.dirname, '../..');

describe('the AWS calls of the deployed code', () => {
  it('reads calls from imports, multi-line and renamed, and leaves types and clients out', () => {
    const source = `import {
  $add,
  ConditionCheck,
  GetItemCommand,
  type FormattedItem,
} from 'dynamodb-toolbox';
import { QueryCommand as RawQueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { PutCommand } from '@aws-sdk/lib-dynamodb';
import { S3Client, NoSuchKey, HeadObjectCommand } from '@aws-sdk/client-s3';
import { SomethingCommand } from './local.js';`;
    expect(awsCallImports(source)).toEqual([
      'dynamodb-toolbox:ConditionCheck',
      'dynamodb-toolbox:GetItemCommand',
      '@aws-sdk/lib-dynamodb:QueryCommand',
      '@aws-sdk/client-s3:HeadObjectCommand',
    ]);
  });

  it('maps transaction items to their own actions and refuses a call it cannot map', () => {
    expect(
      actionsFor([
        'dynamodb-toolbox:executeTransactWrite',
        'dynamodb-toolbox:ConditionCheck',
        'dynamodb-toolbox:PutTransaction',
        '@aws-sdk/client-s3:HeadObjectCommand',
      ]),
    ).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 's3:GetObject']);
    expect(() => actionsFor(['@aws-sdk/client-dynamodb:TransactWriteItemsCommand'])).toThrow(
      /no IAM mapping.*TransactWriteItemsCommand/,
    );
  });

  it('covers the server, the API and the database package, without tests or embedded-only code', () => {
    const files = cloudSourceFiles(repoRoot);
    expect(files).toContain('packages/api/src/storage/s3.ts');
    expect(files).toContain('packages/api/src/chat/llm/bedrock.ts');
    expect(files.some((file) => file.startsWith('packages/db/src/'))).toBe(true);
    expect(files.filter((file) => /\.test\.ts$|\/local\/|testing\.ts$|embedded\.ts$/.test(file))).toEqual([]);
    const { actions } = actionsTheCodeCalls(repoRoot);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query', 's3:GetObject']));
    expect(actions).not.toContain('s3:GetObjectTagging');
  });

  it('calls the test-only methods from tests only', () => {
    expect(testOnlyMethodCallers(repoRoot)).toEqual([]);
  });
});
