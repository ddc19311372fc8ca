import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImagePlatform, checkTerraform, loadTerraform } from '../check.js';

const terraform = join(import.meta.dirname, '../terraform');
const dockerfile = readFileSync(join(import.meta.dirname, '../../Dockerfile'), 'utf8');

describe('infra/terraform', () => {
  it('defines the table exactly as packages/db does, a private, encrypted, self-cleaning bucket, and HTTPS only', async () => {
    expect(await checkTerraform(await loadTerraform(terraform))).toEqual([]);
  });

  it.each([
    [
      'an index key renamed',
      'dynamodb.tf',
      'range_key       = "gsi2sk"',
      'range_key       = "gsi2sort"',
      /indexes .* differ/,
    ],
    [
      'an index dropped',
      'dynamodb.tf',
      'name            = "GSI3"',
      'name            = "GSI9"',
      /indexes .* differ/,
    ],
    ['another sort key', 'dynamodb.tf', 'range_key    = "sk"', 'range_key    = "sort"', /range_key is sort/],
    ['provisioned billing', 'dynamodb.tf', 'PAY_PER_REQUEST', 'PROVISIONED', /billing_mode/],
    [
      'no point-in-time recovery',
      'dynamodb.tf',
      'point_in_time_recovery {\n    enabled = true',
      'point_in_time_recovery {\n    enabled = false',
      /point-in-time/,
    ],
    [
      'a public bucket',
      's3.tf',
      'restrict_public_buckets = true',
      'restrict_public_buckets = false',
      /restrict_public_buckets/,
    ],
    ['no bucket encryption', 's3.tf', 'sse_algorithm = "AES256"', '', /bucket encryption/],
    [
      'no multipart clean-up',
      's3.tf',
      'days_after_initiation = 7',
      'days_after_initiation = 30',
      /multipart/,
    ],
    [
      'no expiry of pending uploads',
      's3.tf',
      'value = "pending"',
      'value = "anything"',
      /expires objects tagged/,
    ],
    [
      'a load balancer timeout shorter than two SSE pings',
      'load_balancer.tf',
      'idle_timeout               = 60',
      'idle_timeout               = 20',
      /shorter than two SSE pings/,
    ],
    [
      'plain HTTP served instead of redirected',
      'load_balancer.tf',
      'type = "redirect"',
      'type = "fixed-response"',
      /listener on 80 does not redirect to HTTPS/,
    ],
    [
      'invalid headers passed on',
      'load_balancer.tf',
      'drop_invalid_header_fields = true',
      'drop_invalid_header_fields = false',
      /invalid header fields/,
    ],
  ])('catches %s', async (_label, file, from, to, problem) => {
    const files = await loadTerraform(terraform);
    const original = files[file] ?? '';
    expect(original).toContain(from);
    const problems = await checkTerraform({ ...files, [file]: original.replace(from, to) });
    expect(problems.join('\n')).toMatch(problem);
  });
});

describe('the image', () => {
  it('is built for the architecture the task runs on, whatever the builder', async () => {
    expect(await checkImagePlatform(dockerfile, await loadTerraform(terraform))).toEqual([]);
  });

  const onStage = (stage: string, change: (line: string) => string) => (text: string) =>
    text.replace(new RegExp(`^FROM .* AS ${stage}$`, 'm'), change);
  it.each([
    [
      'another default platform',
      (text: string) => text.replace('ARG PLATFORM=linux/amd64', 'ARG PLATFORM=linux/arm64'),
      /builds linux\/arm64 .* X86_64/,
    ],
    [
      'a stage on the builder platform',
      onStage('build', (line) => line.replace(/--platform=\S+ /, '')),
      /not pinned to PLATFORM: FROM node/,
    ],
    [
      'no default',
      (text: string) => text.replace('ARG PLATFORM=linux/amd64', 'ARG PLATFORM'),
      /no ARG PLATFORM/,
    ],
  ])('catches %s', async (_label, change, problem) => {
    const changed = change(dockerfile);
    expect(changed).not.toBe(dockerfile);
    const problems = await checkImagePlatform(changed, await loadTerraform(terraform));
    expect(problems.join('\n')).toMatch(problem);
  });
});
