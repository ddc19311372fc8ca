import type { Authenticator } from './auth.js';
import { accessDenied, invalidArgument, notImplemented, S3Error } from './errors.js';
import { keySegments, type ObjectRecord } from './files.js';
import { pickMetadata } from './metadata.js';
import { tagsFromXml, validateTags } from './tags.js';

/** What a browser POST form is allowed to store, once its signature and every policy condition held. */
export interface PostGrant {
  key: string;
  minBytes: number;
  maxBytes: number;
  record: ObjectRecord;
  successStatus: 200 | 201 | 204;
}

/** S3's own ceiling for a POST upload. */
const MAX_POST_OBJECT_BYTES = 5 * 1024 ** 3;
/** S3 replaces this in a POST key with the uploaded file's name. */
const FILENAME_VARIABLE = `\${filename}`;
/** Fields a policy does not have to mention (besides `x-ignore-*`). */
const FIELDS_OUTSIDE_POLICY: ReadonlySet<string> = new Set(['policy', 'x-amz-signature', 'file']);

type Condition =
  | { kind: 'match'; operator: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { kind: 'length'; min: number; max: number };

const invalidPolicy = (reason: string) =>
  new S3Error(400, 'InvalidPolicyDocument', `Invalid Policy: ${reason}`);
const policyRefusal = (reason: string) => accessDenied(`Invalid according to Policy: ${reason}`);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function byteCount(value: unknown): number | undefined {
  const count = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : undefined;
}

function parseCondition(raw: unknown): Condition {
  const text = JSON.stringify(raw);
  if (isRecord(raw)) {
    const entries = Object.entries(raw);
    const [entry] = entries;
    if (entries.length === 1 && entry && typeof entry[1] === 'string') {
      return { kind: 'match', operator: 'eq', field: entry[0].toLowerCase(), value: entry[1], text };
    }
  } else if (Array.isArray(raw) && raw.length === 3) {
    const [operator, field, value] = raw;
    if (operator === 'content-length-range') {
      const min = byteCount(field);
      const max = byteCount(value);
      if (min !== undefined && max !== undefined) return { kind: 'length', min, max };
    } else if (
      (operator === 'eq' || operator === 'starts-with') &&
      typeof field === 'string' &&
      field.startsWith('$') &&
      typeof value === 'string'
    ) {
      return { kind: 'match', operator, field: field.slice(1).toLowerCase(), value, text };
    }
  }
  throw invalidPolicy(`Invalid condition ${text}.`);
}

function decodePolicy(base64: string): { expiration: number; conditions: Condition[] } {
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
    throw invalidPolicy('Invalid Base64.');
  }
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (!isRecord(document)) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = document;
  const expiresAt = typeof expiration === 'string' ? Date.parse(expiration) : Number.NaN;
  if (Number.isNaN(expiresAt)) throw invalidPolicy("Invalid 'expiration' value.");
  if (!Array.isArray(conditions)) throw invalidPolicy("'conditions' must be a list.");
  return { expiration: expiresAt, conditions: conditions.map(parseCondition) };
}

function successStatus(requested: string | undefined): PostGrant['successStatus'] {
  if (requested === '200') return 200;
  if (requested === '201') return 201;
  return 204;
}

/**
 * Checks a browser POST form the way S3 does, from the fields that came before the file (names lower-cased):
 * the signature over the policy, its expiry, every condition, and that no field escaped the policy. `bucket`
 * conditions are checked against the bucket of the URL.
 */
export async function authorizePostForm(
  fields: ReadonlyMap<string, string>,
  bucket: string,
  authenticator: Authenticator,
  now: number,
): Promise<PostGrant> {
  if (!fields.has('policy') && !fields.has('x-amz-signature')) throw accessDenied();
  const required = (name: string) => {
    const value = fields.get(name);
    if (value === undefined) throw invalidArgument(`Bucket POST must contain a field named '${name}'.`);
    return value;
  };
  const key = required('key');
  const policy = required('policy');
  await authenticator.verifyPostForm({
    algorithm: required('x-amz-algorithm'),
    credential: required('x-amz-credential'),
    date: required('x-amz-date'),
    policy,
    signature: required('x-amz-signature'),
  });
  const { expiration, conditions } = decodePolicy(policy);
  if (now >= expiration) throw policyRefusal('Policy expired.');
  const covered = new Set<string>();
  let minBytes = 0;
  let maxBytes = MAX_POST_OBJECT_BYTES;
  for (const condition of conditions) {
    if (condition.kind === 'length') {
      minBytes = Math.max(minBytes, condition.min);
      maxBytes = Math.min(maxBytes, condition.max);
      continue;
    }
    covered.add(condition.field);
    const actual = condition.field === 'bucket' ? bucket : (fields.get(condition.field) ?? '');
    const holds =
      condition.operator === 'eq' ? actual === condition.value : actual.startsWith(condition.value);
    if (!holds) throw policyRefusal(`Policy Condition failed: ${condition.text}`);
  }
  const extra = [...fields.keys()].filter(
    (name) => !covered.has(name) && !FIELDS_OUTSIDE_POLICY.has(name) && !name.startsWith('x-ignore-'),
  );
  if (extra.length > 0) throw policyRefusal(`Extra input fields: ${extra.join(', ')}`);
  if (fields.has('success_action_redirect') || fields.has('redirect')) {
    throw notImplemented('Redirects after a POST upload are not supported by this store.');
  }
  if (key.includes(FILENAME_VARIABLE)) {
    throw notImplemented(`${FILENAME_VARIABLE} in a POST key is not supported by this store.`);
  }
  if (fields.has('bucket') && fields.get('bucket') !== bucket) {
    throw invalidArgument('The bucket field does not match the bucket of the URL.');
  }
  keySegments(key);
  const tagging = fields.get('tagging');
  return {
    key,
    minBytes,
    maxBytes,
    record: {
      metadata: pickMetadata(fields),
      tags: tagging === undefined ? [] : validateTags(tagsFromXml(tagging)),
    },
    successStatus: successStatus(fields.get('success_action_status')),
  };
}
