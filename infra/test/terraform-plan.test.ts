import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appRouter } from '@leonidas/api';
import { tableDefinition } from '@leonidas/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionsTheCodeCalls } from '../code-actions.js';
import {
  closedPort,
  findTerraform,
  pluginDirectory,
  TerraformWorkspace,
  testOverrides,
} from './terraform-run.js';

const source = join(import.meta.dirname, '../terraform');
const repoRoot = join(import.meta.dirname, '../..');
const binary = findTerraform();
if (!binary) {
  console.warn(
    'infra: no terraform on PATH, so fmt, init, validate and plan are skipped here; the static checks still run',
  );
}

interface Resource {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  values: Record<string, unknown>;
}
interface Plan {
  planned_values: { root_module: { resources?: Resource[] } };
  resource_changes: { address: string; mode: string; change: { actions: string[] } }[];
  prior_state?: { values?: { root_module?: { resources?: Resource[] } } };
  configuration: { root_module: { resources?: { address: string; depends_on?: string[] }[] } };
}
interface Diagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: unknown;
}
interface ContainerDefinition {
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const account = '123456789012';
const variables = {
  account_id: account,
  container_image: `${account}.dkr.ecr.us-east-1.amazonaws.com/leonidas:1`,
  vpc_id: 'vpc-0123456789abcdef0',
  public_subnet_ids: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
  private_subnet_ids: ['subnet-0cccccccccccccccc', 'subnet-0dddddddddddddddd'],
  domain_name: 'leonidas.example.com',
  certificate_arn: `arn:aws:acm:us-east-1:${account}:certificate/00000000-0000-0000-0000-000000000000`,
};
const openaiKeyArn = `arn:aws:secretsmanager:us-east-1:${account}:secret:leonidas/openai-api-key-AbCdEf`;

describe.skipIf(!binary)('terraform: fmt, init from the local mirror, validate, and the plan', () => {
  const directory = mkdtempSync(join(tmpdir(), 'leonidas-terraform-'));
  let workspace: TerraformWorkspace;
  let validation: { valid: boolean; warning_count: number; diagnostics: Diagnostic[] };
  const planned: Record<string, { plan: Plan; diagnostics: Diagnostic[] }> = {};

  /** Plans with these variables into a saved plan and reads it back the way `terraform show -json` gives it. */
  async function plan(name: string, values: Record<string, unknown>) {
    workspace.write(`${name}.tfvars.json`, JSON.stringify(values));
    const { stdout } = await workspace.run([
      'plan',
      '-json',
      '-input=false',
      '-lock=false',
      `-var-file=${name}.tfvars.json`,
      `-out=${name}.tfplan`,
    ]);
    const diagnostics = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; diagnostic?: Diagnostic })
      .flatMap((message) =>
        message.type === 'diagnostic' && message.diagnostic ? [message.diagnostic] : [],
      );
    const shown = await workspace.run(['show', '-json', `${name}.tfplan`]);
    return { plan: JSON.parse(shown.stdout) as Plan, diagnostics };
  }

  beforeAll(async () => {
    workspace = TerraformWorkspace.create(binary ?? '', source, directory);
    const init = ['init', `-plugin-dir=${pluginDirectory}`, '-lockfile=readonly', '-no-color'];
    // The configuration as committed (its S3 backend left out: it needs a real bucket).
    await workspace.run([...init, '-backend=false']);
    validation = JSON.parse((await workspace.run(['validate', '-json', '-no-color'])).stdout);
    // Then with the test overrides: a local backend first (the provider schema needs one), then every
    // endpoint the provider has, read from its schema.
    const port = await closedPort();
    workspace.write('test_override.tf', testOverrides([], port));
    await workspace.run([...init, '-reconfigure']);
    const schema = JSON.parse((await workspace.run(['providers', 'schema', '-json'])).stdout) as {
      provider_schemas: Record<
        string,
        { provider: { block: { block_types: Record<string, { block: { attributes: object } }> } } }
      >;
    };
    const aws = schema.provider_schemas['registry.terraform.io/hashicorp/aws'];
    const endpoints = Object.keys(aws?.provider.block.block_types.endpoints?.block.attributes ?? {});
    expect(endpoints.length).toBeGreaterThan(200);
    workspace.write('test_override.tf', testOverrides(endpoints, port));
    // Both at once: plans only read the workspace (no state, no lock).
    [planned.bedrock, planned.openai] = await Promise.all([
      plan('bedrock', variables),
      plan('openai', { ...variables, llm_provider: 'openai', openai_api_key_secret_arn: openaiKeyArn }),
    ]);
  }, 300_000);

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const resources = (name = 'bedrock') => planned[name]?.plan.planned_values.root_module.resources ?? [];
  const resource = (address: string, name = 'bedrock') => {
    const found = resources(name).find((each) => each.address === address);
    if (!found) throw new Error(`${address} is not in the plan`);
    return found.values;
  };
  const policy = (address: string, name = 'bedrock') =>
    JSON.parse(String(resource(address, name).policy)) as { Statement: Statement[] };
  const container = (name = 'bedrock') => {
    const [definition] = JSON.parse(
      String(resource('aws_ecs_task_definition.server', name).container_definitions),
    ) as ContainerDefinition[];
    if (!definition) throw new Error('no container');
    return {
      ...definition,
      env: Object.fromEntries(definition.environment.map(({ name, value }) => [name, value])),
    };
  };

  it('is formatted as terraform fmt writes it', async () => {
    await workspace.run(['fmt', '-check', '-diff', '-recursive', source]);
  });

  it('initializes offline from the mirror with the committed lock file as it is, and validates cleanly', () => {
    expect(readFileSync(join(directory, '.terraform.lock.hcl'), 'utf8')).toBe(
      readFileSync(join(source, '.terraform.lock.hcl'), 'utf8'),
    );
    expect(readFileSync(join(source, '.terraform.lock.hcl'), 'utf8')).toContain('version     = "5.100.0"');
    expect(validation).toMatchObject({ valid: true, warning_count: 0 });
  });

  it('plans exactly these resources, and reads only data sources that call no AWS API', () => {
    const { plan, diagnostics } = planned.bedrock ?? { plan: undefined, diagnostics: [] };
    expect(
      plan?.resource_changes
        .filter((change) => change.mode === 'managed')
        .map((c) => c.address)
        .sort(),
    ).toEqual([
      'aws_cloudwatch_log_group.server',
      'aws_dynamodb_table.main',
      'aws_ecs_cluster.main',
      'aws_ecs_service.server',
      'aws_ecs_task_definition.server',
      'aws_iam_role.execution',
      'aws_iam_role.task',
      'aws_iam_role_policy.execution_secrets',
      'aws_iam_role_policy.task',
      'aws_iam_role_policy_attachment.execution',
      'aws_lb.main',
      'aws_lb_listener.http_redirect',
      'aws_lb_listener.https',
      'aws_lb_target_group.server',
      'aws_s3_bucket.access_logs',
      'aws_s3_bucket.uploads',
      'aws_s3_bucket_cors_configuration.uploads',
      'aws_s3_bucket_lifecycle_configuration.access_logs',
      'aws_s3_bucket_lifecycle_configuration.uploads',
      'aws_s3_bucket_ownership_controls.access_logs',
      'aws_s3_bucket_ownership_controls.uploads',
      'aws_s3_bucket_policy.access_logs',
      'aws_s3_bucket_policy.uploads',
      'aws_s3_bucket_public_access_block.access_logs',
      'aws_s3_bucket_public_access_block.uploads',
      'aws_s3_bucket_server_side_encryption_configuration.access_logs',
      'aws_s3_bucket_server_side_encryption_configuration.uploads',
      'aws_secretsmanager_secret.jwt',
      'aws_secretsmanager_secret_version.jwt',
      'aws_security_group.alb',
      'aws_security_group.task',
      'aws_vpc_security_group_egress_rule.alb_to_tasks',
      'aws_vpc_security_group_egress_rule.task_https',
      'aws_vpc_security_group_ingress_rule.alb_http',
      'aws_vpc_security_group_ingress_rule.alb_https',
      'aws_vpc_security_group_ingress_rule.task_from_alb',
    ]);
    expect(new Set(plan?.resource_changes.flatMap((change) => change.change.actions))).toEqual(
      new Set(['create']),
    );
    // Read during the plan with every endpoint closed: had either called AWS, the plan would have failed.
    expect(
      (plan?.prior_state?.values?.root_module?.resources ?? []).map((each) => each.address).sort(),
    ).toEqual(['data.aws_elb_service_account.main', 'data.aws_partition.current']);
    // The only warnings: the provider's aliases for one endpoint, all set here on purpose.
    expect(diagnostics.filter((d) => d.summary !== 'Invalid Attribute Combination')).toEqual([]);
  });

  it('makes the table exactly as packages/db defines it', () => {
    const table = resource('aws_dynamodb_table.main');
    expect(table).toMatchObject({
      hash_key: tableDefinition.partitionKey,
      range_key: tableDefinition.sortKey,
      billing_mode: tableDefinition.billingMode,
      deletion_protection_enabled: true,
      point_in_time_recovery: [{ enabled: true }],
      server_side_encryption: [{ enabled: true }],
      ttl: [{ attribute_name: tableDefinition.ttlAttribute, enabled: true }],
    });
    const indexes = (table.global_secondary_index as Record<string, unknown>[])
      .map((index) => `${index.name} ${index.hash_key} ${index.range_key} ${index.projection_type}`)
      .sort();
    expect(indexes).toEqual(
      tableDefinition.globalIndexes
        .map((index) => `${index.name} ${index.partitionKey} ${index.sortKey} ALL`)
        .sort(),
    );
  });

  it('blocks public access to both buckets and refuses any request without TLS', () => {
    for (const name of ['uploads', 'access_logs']) {
      expect(resource(`aws_s3_bucket_public_access_block.${name}`)).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      const bucket = String(resource(`aws_s3_bucket.${name}`).bucket);
      expect(policy(`aws_s3_bucket_policy.${name}`).Statement).toContainEqual({
        Sid: 'TLSOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
    const logWrite = policy('aws_s3_bucket_policy.access_logs').Statement.find((s) => s.Effect === 'Allow');
    expect(logWrite?.Resource).toBe(`arn:aws:s3:::leonidas-alb-logs-plan-test/alb/AWSLogs/${account}/*`);
  });

  it('serves HTTPS only: :443 with the certificate and a modern policy, :80 answers with a redirect to it', () => {
    expect(resource('aws_lb_listener.https')).toMatchObject({
      port: 443,
      protocol: 'HTTPS',
      certificate_arn: variables.certificate_arn,
      ssl_policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    });
    const http = resource('aws_lb_listener.http_redirect');
    expect(http).toMatchObject({ port: 80, protocol: 'HTTP' });
    expect(http.default_action).toMatchObject([
      { type: 'redirect', redirect: [{ protocol: 'HTTPS', port: '443', status_code: 'HTTP_301' }] },
    ]);
    expect(resource('aws_lb.main')).toMatchObject({
      drop_invalid_header_fields: true,
      enable_deletion_protection: true,
      access_logs: [{ enabled: true, bucket: 'leonidas-alb-logs-plan-test', prefix: 'alb' }],
    });
  });

  it('closes idle connections before the server does, and lets two SSE pings go by', () => {
    const idleSeconds = Number(resource('aws_lb.main').idle_timeout);
    const { env } = container();
    expect(Number(env.KEEP_ALIVE_TIMEOUT_SECONDS)).toBeGreaterThan(idleSeconds);
    expect(Number(env.HEADERS_TIMEOUT_SECONDS)).toBeGreaterThan(Number(env.KEEP_ALIVE_TIMEOUT_SECONDS));
    const pingMs = appRouter._def._config.sse?.ping?.intervalMs ?? Number.POSITIVE_INFINITY;
    expect(idleSeconds * 1000).toBeGreaterThanOrEqual(2 * pingMs);
  });

  it('grants the task exactly the AWS actions the code calls, on its own table, prefix and model', () => {
    const statements = policy('aws_iam_role_policy.task').Statement;
    const granted = [...new Set(statements.flatMap((s) => list(s.Action)))].sort();
    expect(granted).toEqual(actionsTheCodeCalls(repoRoot).actions);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const table = `arn:aws:dynamodb:us-east-1:${account}:table/leonidas`;
    const bucket = 'arn:aws:s3:::leonidas-uploads-plan-test';
    const scope = (prefix: string) =>
      [
        ...new Set(
          statements
            .filter((s) => list(s.Action).some((a) => a.startsWith(prefix)))
            .flatMap((s) => list(s.Resource)),
        ),
      ].sort();
    expect(scope('dynamodb:')).toEqual([table, `${table}/index/*`]);
    expect(scope('s3:')).toEqual([bucket, `${bucket}/projects/*`]);
    expect(scope('bedrock:')).toEqual([
      'arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0',
    ]);
    // Listing the bucket is what makes S3 answer a missing key with 404: no condition may narrow it, since
    // HeadObject and GetObject carry no s3:prefix.
    const listing = statements.find((s) => list(s.Action).includes('s3:ListBucket'));
    expect(listing).toMatchObject({ Resource: bucket });
    expect(listing?.Condition).toBeUndefined();
    expect(list(listing?.Action ?? [])).toEqual(['s3:ListBucket']);
  });

  it('keeps the JWT secret out of state and plan, and starts the service only once it can be read', () => {
    expect(resource('aws_secretsmanager_secret_version.jwt')).toMatchObject({
      secret_string: null,
      secret_string_wo: null,
      secret_string_wo_version: 1,
    });
    const secretName = String(resource('aws_secretsmanager_secret.jwt').name);
    expect(container().secrets).toEqual([{ name: 'JWT_SECRET', valueFrom: secretName }]);
    expect(Object.keys(container().env)).not.toContain('JWT_SECRET');
    expect(policy('aws_iam_role_policy.execution_secrets').Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [`arn:aws:secretsmanager:us-east-1:${account}:secret:${secretName}-??????`],
      },
    ]);
    const service = planned.bedrock?.plan.configuration.root_module.resources?.find(
      (each) => each.address === 'aws_ecs_service.server',
    );
    expect(service?.depends_on).toEqual(
      expect.arrayContaining([
        'aws_secretsmanager_secret_version.jwt',
        'aws_iam_role_policy.execution_secrets',
        'aws_iam_role_policy_attachment.execution',
        'aws_lb_listener.https',
      ]),
    );
    expect(resource('aws_ecs_service.server')).toMatchObject({
      deployment_circuit_breaker: [{ enable: true, rollback: true }],
    });
  });

  it('gives an OpenAI-compatible provider its key, URL and model, and no Bedrock grant', () => {
    const { env, secrets } = container('openai');
    expect(env).toMatchObject({
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      OPENAI_MODEL: 'gpt-4o-mini',
    });
    expect(Object.keys(env)).not.toContain('BEDROCK_MODEL_ID');
    expect(secrets).toContainEqual({ name: 'OPENAI_API_KEY', valueFrom: openaiKeyArn });
    expect(policy('aws_iam_role_policy.execution_secrets', 'openai').Statement[0]?.Resource).toContain(
      openaiKeyArn,
    );
    const actions = policy('aws_iam_role_policy.task', 'openai').Statement.flatMap((s) => list(s.Action));
    expect(actions.filter((action) => action.startsWith('bedrock:'))).toEqual([]);
  });

  it('refuses at plan time an OpenAI provider without its key, plain HTTP, a URL for a host, a wrong architecture', async () => {
    const refused = plan('refused', {
      ...variables,
      llm_provider: 'openai',
      certificate_arn: '',
      domain_name: 'http://leonidas.example.com',
      cpu_architecture: 'arm64',
      account_id: '1234',
    });
    // Terraform reports every failed variable check at once.
    for (const message of [
      /needs openai_api_key_secret_arn/,
      /certificate_arn must be an ACM certificate ARN/,
      /domain_name must be a lower-case host name/,
      /cpu_architecture must be X86_64 or ARM64/,
      /account_id must be the 12-digit AWS account ID/,
    ])
      await expect(refused).rejects.toThrow(message);
  }, 120_000);

  it('leaves nothing in the repository: no .terraform folder, state or plan next to the configuration', () => {
    expect(workspace.has('.terraform')).toBe(true);
    const leftovers = ['.terraform', 'terraform.tfstate', 'bedrock.tfplan'].filter((name) =>
      new TerraformWorkspace(binary ?? '', source).has(name),
    );
    expect(leftovers).toEqual([]);
  });
});
