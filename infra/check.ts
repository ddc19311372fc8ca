import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { appRouter, UPLOAD_STATE_TAG } from '@leonidas/api';
import { tableDefinition } from '@leonidas/db';

/** The Terraform of `dir` as hcl2json sees it, every file merged. */
export async function loadTerraform(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name.endsWith('.tf'))
      .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
  );
}

type Block = Record<string, unknown>;
const blocks = (value: unknown): Block[] => (Array.isArray(value) ? (value as Block[]) : []);

/**
 * What a deployment must get right, checked against the code that relies on it: the table exactly as
 * packages/db defines it, a private, encrypted bucket that cleans up after abandoned uploads, and a load
 * balancer that serves HTTPS only and keeps chat streams alive. Returns the problems found (none is a pass).
 * The values only a plan knows (policies, the server's keep-alive) are checked on the plan by the test.
 */
export async function checkTerraform(files: Record<string, string>): Promise<string[]> {
  const resources: Record<string, Record<string, Block[]>> = {};
  for (const [name, text] of Object.entries(files)) {
    const parsed = (await parse(name, text)) as { resource?: Record<string, Record<string, Block[]>> };
    for (const [type, named] of Object.entries(parsed.resource ?? {}))
      resources[type] = { ...resources[type], ...named };
  }
  const one = (type: string, name?: string) =>
    (name ? resources[type]?.[name] : Object.values(resources[type] ?? {})[0])?.[0];
  const all = (type: string) => Object.values(resources[type] ?? {}).flat();
  const problems: string[] = [];

  const table = one('aws_dynamodb_table');
  if (!table) return ['no aws_dynamodb_table'];
  if (table.hash_key !== tableDefinition.partitionKey) problems.push(`table hash_key is ${table.hash_key}`);
  if (table.range_key !== tableDefinition.sortKey) problems.push(`table range_key is ${table.range_key}`);
  if (table.billing_mode !== tableDefinition.billingMode)
    problems.push(`billing_mode is ${table.billing_mode}`);
  const wantedIndexes = tableDefinition.globalIndexes
    .map((index) => `${index.name}:${index.partitionKey}:${index.sortKey}:ALL`)
    .sort();
  const actualIndexes = blocks(table.global_secondary_index)
    .map((index) => `${index.name}:${index.hash_key}:${index.range_key}:${index.projection_type}`)
    .sort();
  if (JSON.stringify(wantedIndexes) !== JSON.stringify(actualIndexes)) {
    problems.push(`indexes ${actualIndexes.join(', ')} differ from packages/db: ${wantedIndexes.join(', ')}`);
  }
  const keyNames = [
    tableDefinition.partitionKey,
    tableDefinition.sortKey,
    ...tableDefinition.globalIndexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ].sort();
  const attributes = blocks(table.attribute)
    .map((attribute) => `${attribute.name}:${attribute.type}`)
    .sort();
  if (JSON.stringify(attributes) !== JSON.stringify(keyNames.map((name) => `${name}:S`))) {
    problems.push(
      `attributes ${attributes.join(', ')} are not exactly the string keys ${keyNames.join(', ')}`,
    );
  }
  if (blocks(table.ttl)[0]?.attribute_name !== tableDefinition.ttlAttribute)
    problems.push('TTL is not on the ttl attribute');
  if (blocks(table.point_in_time_recovery)[0]?.enabled !== true)
    problems.push('point-in-time recovery is off');
  if (blocks(table.server_side_encryption)[0]?.enabled !== true) problems.push('table encryption is off');

  const block = one('aws_s3_bucket_public_access_block', 'uploads');
  for (const setting of [
    'block_public_acls',
    'block_public_policy',
    'ignore_public_acls',
    'restrict_public_buckets',
  ]) {
    if (block?.[setting] !== true) problems.push(`bucket public access: ${setting} is not true`);
  }
  const encryption = blocks(one('aws_s3_bucket_server_side_encryption_configuration', 'uploads')?.rule)[0];
  if (!blocks(encryption?.apply_server_side_encryption_by_default)[0]?.sse_algorithm)
    problems.push('bucket encryption is missing');
  const rules = blocks(one('aws_s3_bucket_lifecycle_configuration', 'uploads')?.rule);
  if (!rules.some((rule) => blocks(rule.abort_incomplete_multipart_upload)[0]?.days_after_initiation === 7)) {
    problems.push('no lifecycle rule aborts incomplete multipart uploads after 7 days');
  }
  const expiresPending = rules.some((rule) => {
    const tag = blocks(blocks(rule.filter)[0]?.tag)[0];
    return tag?.key === UPLOAD_STATE_TAG && tag?.value === 'pending' && blocks(rule.expiration).length > 0;
  });
  if (!expiresPending) problems.push(`no lifecycle rule expires objects tagged ${UPLOAD_STATE_TAG}=pending`);
  const cors = blocks(one('aws_s3_bucket_cors_configuration', 'uploads')?.cors_rule)[0];
  if (!(cors?.allowed_methods as string[] | undefined)?.includes('POST'))
    problems.push('bucket CORS does not allow POST uploads');

  const balancer = one('aws_lb');
  // A chat stream is silent between pings: the load balancer must let at least two go by.
  const pingMs = appRouter._def._config.sse?.ping?.intervalMs ?? 0;
  if (Number(balancer?.idle_timeout ?? 60) * 1000 < 2 * pingMs)
    problems.push(`load balancer idle timeout is shorter than two SSE pings (${pingMs} ms apart)`);
  if (balancer?.drop_invalid_header_fields !== true)
    problems.push('load balancer passes invalid header fields on');
  const listeners = all('aws_lb_listener');
  const https = listeners.find((listener) => listener.protocol === 'HTTPS' && listener.port === 443);
  if (!https?.certificate_arn) problems.push('no HTTPS listener on 443 with a certificate');
  for (const listener of listeners.filter((each) => each.protocol !== 'HTTPS')) {
    const action = blocks(listener.default_action)[0];
    const redirect = blocks(action?.redirect)[0];
    if (action?.type !== 'redirect' || redirect?.protocol !== 'HTTPS' || redirect.port !== '443')
      problems.push(`listener on ${listener.port} does not redirect to HTTPS`);
  }
  if (blocks(one('aws_lb_target_group')?.health_check)[0]?.path !== '/healthz')
    problems.push('health check is not /healthz');
  return problems;
}

/** The platform the Dockerfile builds for by default, as ECS names it, and the one the task definition runs. */
const ecsArchitecture: Record<string, string> = { 'linux/amd64': 'X86_64', 'linux/arm64': 'ARM64' };

/**
 * The image must be built for the architecture the task runs on, whatever machine builds it: every stage of
 * the Dockerfile is pinned to its PLATFORM argument, whose default matches cpu_architecture's.
 */
export async function checkImagePlatform(
  dockerfile: string,
  files: Record<string, string>,
): Promise<string[]> {
  const problems: string[] = [];
  const platform = /^ARG PLATFORM=(\S+)$/m.exec(dockerfile)?.[1];
  if (!platform) return ['the Dockerfile has no ARG PLATFORM=<os/arch> default'];
  const stages = dockerfile.split('\n').filter((line) => /^FROM\s/i.test(line));
  for (const stage of stages.filter((line) => !/^FROM\s+--platform=\$\{PLATFORM\}\s/i.test(line)))
    problems.push(`Dockerfile stage not pinned to PLATFORM: ${stage}`);
  let architecture: unknown;
  for (const [name, text] of Object.entries(files)) {
    const parsed = (await parse(name, text)) as { variable?: Record<string, Block[]> };
    architecture = parsed.variable?.cpu_architecture?.[0]?.default ?? architecture;
  }
  if (ecsArchitecture[platform] !== architecture)
    problems.push(
      `the Dockerfile builds ${platform} by default but cpu_architecture defaults to ${architecture}`,
    );
  return problems;
}
