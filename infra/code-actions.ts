import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The IAM actions each AWS call of the code needs, by the module it is imported from and its name. A
 * transaction needs the permission of each item inside it, so transaction items map to their own actions and
 * the executing call to none.
 */
const actionsByImport: Record<string, readonly string[]> = {
  'dynamodb-toolbox:GetItemCommand': ['dynamodb:GetItem'],
  'dynamodb-toolbox:PutItemCommand': ['dynamodb:PutItem'],
  'dynamodb-toolbox:UpdateItemCommand': ['dynamodb:UpdateItem'],
  'dynamodb-toolbox:UpdateAttributesCommand': ['dynamodb:UpdateItem'],
  'dynamodb-toolbox:DeleteItemCommand': ['dynamodb:DeleteItem'],
  'dynamodb-toolbox:QueryCommand': ['dynamodb:Query'],
  'dynamodb-toolbox:ScanCommand': ['dynamodb:Scan'],
  'dynamodb-toolbox:BatchGetCommand': ['dynamodb:BatchGetItem'],
  'dynamodb-toolbox:BatchWriteCommand': ['dynamodb:BatchWriteItem'],
  'dynamodb-toolbox:GetTransaction': ['dynamodb:GetItem'],
  'dynamodb-toolbox:PutTransaction': ['dynamodb:PutItem'],
  'dynamodb-toolbox:UpdateTransaction': ['dynamodb:UpdateItem'],
  'dynamodb-toolbox:DeleteTransaction': ['dynamodb:DeleteItem'],
  'dynamodb-toolbox:ConditionCheck': ['dynamodb:ConditionCheckItem'],
  'dynamodb-toolbox:executeTransactWrite': [],
  'dynamodb-toolbox:executeTransactGet': [],
  '@aws-sdk/lib-dynamodb:GetCommand': ['dynamodb:GetItem'],
  '@aws-sdk/lib-dynamodb:PutCommand': ['dynamodb:PutItem'],
  '@aws-sdk/lib-dynamodb:UpdateCommand': ['dynamodb:UpdateItem'],
  '@aws-sdk/lib-dynamodb:DeleteCommand': ['dynamodb:DeleteItem'],
  '@aws-sdk/lib-dynamodb:QueryCommand': ['dynamodb:Query'],
  '@aws-sdk/lib-dynamodb:ScanCommand': ['dynamodb:Scan'],
  '@aws-sdk/lib-dynamodb:BatchGetCommand': ['dynamodb:BatchGetItem'],
  '@aws-sdk/lib-dynamodb:BatchWriteCommand': ['dynamodb:BatchWriteItem'],
  '@aws-sdk/client-s3:GetObjectCommand': ['s3:GetObject'],
  // HEAD is authorized as GET.
  '@aws-sdk/client-s3:HeadObjectCommand': ['s3:GetObject'],
  '@aws-sdk/client-s3:PutObjectCommand': ['s3:PutObject'],
  '@aws-sdk/client-s3:DeleteObjectCommand': ['s3:DeleteObject'],
  // Multi-object delete is authorized per object as DeleteObject.
  '@aws-sdk/client-s3:DeleteObjectsCommand': ['s3:DeleteObject'],
  '@aws-sdk/client-s3:ListObjectsV2Command': ['s3:ListBucket'],
  '@aws-sdk/client-s3:GetObjectTaggingCommand': ['s3:GetObjectTagging'],
  '@aws-sdk/client-s3:PutObjectTaggingCommand': ['s3:PutObjectTagging'],
  // The browser's POST is authorized as the signer's PutObject; its policy carries a tag (see storage/s3.ts).
  '@aws-sdk/s3-presigned-post:createPresignedPost': ['s3:PutObject', 's3:PutObjectTagging'],
  // Signs a command imported on its own, which maps to its action.
  '@aws-sdk/s3-request-presigner:getSignedUrl': [],
  '@aws-sdk/client-bedrock-runtime:ConverseCommand': ['bedrock:InvokeModel'],
  '@aws-sdk/client-bedrock-runtime:ConverseStreamCommand': ['bedrock:InvokeModelWithResponseStream'],
};

/** Names that send (or sign, or take part in) a request: each must be in the table above. */
const isCall = (name: string) =>
  /(Command|Transaction)$|^ConditionCheck$|^execute|^createPresigned|^getSignedUrl$/.test(name);

/**
 * Calls made only by tests, each with the one method that makes it: the method must not be called by code that
 * runs in a deployment (checked), so the deployment needs no grant for it.
 */
export const testOnlyCalls = [
  {
    call: '@aws-sdk/client-s3:GetObjectTaggingCommand',
    method: 'tagsOf',
    file: 'packages/api/src/storage/s3.ts',
  },
] as const;

/**
 * The code a cloud deployment runs: the server, the API and the database package, minus tests, test helpers
 * and what only embedded mode uses (DynamoDB Local, table creation: Terraform sets CREATE_TABLE=false).
 */
export const cloudSourceRoots = ['apps/server/src', 'packages/api/src', 'packages/db/src'];
const excluded = (path: string) =>
  /\.test\.ts$|(^|\/)(testing|test-global-setup)\.ts$|^packages\/db\/src\/local\/|^apps\/server\/src\/embedded\.ts$/.test(
    path,
  );

export function cloudSourceFiles(repoRoot: string): string[] {
  return cloudSourceRoots.flatMap((root) =>
    (readdirSync(join(repoRoot, root), { recursive: true, encoding: 'utf8' }) as string[])
      .map((name) => join(root, name).replaceAll('\\', '/'))
      .filter((path) => path.endsWith('.ts') && !excluded(path)),
  );
}

/** `module:name` for each AWS-call import of a source text (`X as Y` counts as X; type imports send nothing). */
export function awsCallImports(source: string): string[] {
  const calls: string[] = [];
  for (const match of source.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/g)) {
    const [, typeOnly, names = '', module = ''] = match;
    if (typeOnly || !(module.startsWith('@aws-sdk/') || module.startsWith('dynamodb-toolbox'))) continue;
    for (const entry of names.split(',')) {
      const [name = ''] = entry.trim().split(/\s+as\s+/);
      if (name && !name.startsWith('type ') && isCall(name)) calls.push(`${module}:${name}`);
    }
  }
  return calls;
}

/**
 * The IAM actions these calls need, test-only calls left out. Throws on a call the table does not know, so a
 * new kind of call cannot slip past the policy check unmapped.
 */
export function actionsFor(calls: Iterable<string>): string[] {
  const all = [...new Set(calls)];
  const unknown = all.filter((call) => !(call in actionsByImport));
  if (unknown.length > 0)
    throw new Error(`AWS calls with no IAM mapping in infra/code-actions.ts: ${unknown.join(', ')}`);
  const testOnly = new Set<string>(testOnlyCalls.map((entry) => entry.call));
  const actions = all.filter((call) => !testOnly.has(call)).flatMap((call) => actionsByImport[call] ?? []);
  return [...new Set(actions)].sort();
}

/** The IAM actions the deployed code needs, derived from the AWS calls it imports, and where each call is. */
export function actionsTheCodeCalls(repoRoot: string): {
  actions: string[];
  calls: Record<string, string[]>;
} {
  const calls: Record<string, string[]> = {};
  for (const path of cloudSourceFiles(repoRoot)) {
    for (const call of awsCallImports(readFileSync(join(repoRoot, path), 'utf8'))) {
      calls[call] = [...(calls[call] ?? []), path];
    }
  }
  return { actions: actionsFor(Object.keys(calls)), calls };
}

/** Where deployed code calls a test-only method (none is a pass). */
export function testOnlyMethodCallers(repoRoot: string): string[] {
  return cloudSourceFiles(repoRoot).flatMap((path) => {
    const source = readFileSync(join(repoRoot, path), 'utf8');
    return testOnlyCalls
      .filter((entry) => new RegExp(`\\.${entry.method}\\(`).test(source))
      .map((entry) => `${path} calls ${entry.method}`);
  });
}
