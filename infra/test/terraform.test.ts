import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTerraform, loadTerraform } from '../check.js';

const terraform = join(import.meta.dirname, '../terraform');

describe('infra/terraform', () => {
  it('defines the table exactly as packages/db does, and a private, encrypted, self-cleaning bucket', async () => {
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
      'a short load balancer timeout',
      'service.tf',
      'idle_timeout = 3600',
      'idle_timeout = 60',
      /idle timeout/,
    ],
  ])('catches %s', async (_label, file, from, to, problem) => {
    const files = await loadTerraform(terraform);
    const original = files[file] ?? '';
    expect(original).toContain(from);
    const problems = await checkTerraform({ ...files, [file]: original.replace(from, to) });
    expect(problems.join('\n')).toMatch(problem);
  });
});
