import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { getSigningKey, SignatureV4 } from '@smithy/signature-v4';
import { UNSIGNED_PAYLOAD } from './body.js';
import { accessDenied, invalidArgument, notImplemented, S3Error } from './errors.js';
import { headerValue, type Query, queryValue, type RequestTarget } from './request.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AuthSettings {
  credentials: Credentials;
  region: string;
  now: () => number;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

const toBuffer = (data: SourceData): Buffer => {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
};

/** The hash constructor the smithy signer expects, over node:crypto: SHA-256, or HMAC-SHA256 when given a key. */
class Sha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

type SignableRequest = Parameters<SignatureV4['presign']>[0];

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 's3';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_EXPIRY_SECONDS = 7 * 24 * 60 * 60;
const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';
const SIGNATURE_PARAMETER = 'X-Amz-Signature';
/** Query parameters that make a request presigned (any of them is enough to rule out header signing). */
export const PRESIGN_PARAMETERS: readonly string[] = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  SIGNATURE_PARAMETER,
  'X-Amz-Content-Sha256',
];

/** Constant-time comparison of two signatures (or any two strings). */
function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `YYYYMMDDTHHMMSSZ`, the only date format of SigV4. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const iso = value?.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
  if (iso === undefined || iso === value) return undefined;
  const date = new Date(iso);
  // A day that does not exist (20250230) either fails to parse or comes back as another day.
  return !Number.isNaN(date.getTime()) && date.toISOString().replace('.000Z', 'Z') === iso ? date : undefined;
}

/** Checks `AKID/YYYYMMDD/region/s3/aws4_request` against our key, the request's date and our region. */
function checkCredential(
  credential: string,
  requestDate: string,
  settings: AuthSettings,
  malformed: string,
): void {
  const parts = credential.split('/');
  const [accessKeyId = '', date, region, service, terminator] = parts;
  if (parts.length !== 5) throw new S3Error(400, malformed, `The credential '${credential}' is malformed.`);
  if (!sameSecret(accessKeyId, settings.credentials.accessKeyId)) {
    throw new S3Error(
      403,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  if (date !== requestDate.slice(0, 8)) {
    throw new S3Error(
      400,
      malformed,
      `Invalid credential date "${date}". It must be the date of X-Amz-Date.`,
    );
  }
  if (region !== settings.region) {
    throw new S3Error(400, malformed, `The region '${region}' is wrong; expecting '${settings.region}'.`);
  }
  if (service !== SERVICE || terminator !== 'aws4_request') {
    throw new S3Error(400, malformed, `The credential '${credential}' is not scoped to s3/aws4_request.`);
  }
}

function checkPayloadHash(payloadHash: string): void {
  if (payloadHash.startsWith('STREAMING-')) {
    throw notImplemented(
      `Chunked uploads (x-amz-content-sha256: ${payloadHash}) are not supported by this store; send the body in one piece.`,
    );
  }
  if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    throw invalidArgument('x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the hex SHA-256 of the body.');
  }
}

/** The signed headers' values as received (repeated headers joined with commas, as SigV4 specifies). */
function receivedHeaders(req: IncomingMessage, signed: ReadonlySet<string>): Record<string, string> {
  // A null prototype: header names are the client's choice.
  const headers: Record<string, string> = Object.create(null);
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index]?.toLowerCase() ?? '';
    const value = req.rawHeaders[index + 1] ?? '';
    if (!signed.has(name)) continue;
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous},${value}`;
  }
  return headers;
}

/** S3 refuses `x-amz-*` headers left out of the signature: they change what a request does. */
function refuseUnsignedAmzHeaders(req: IncomingMessage, signed: ReadonlySet<string>): void {
  const unsigned = Object.keys(req.headers).filter((name) => name.startsWith('x-amz-') && !signed.has(name));
  if (unsigned.length > 0) {
    throw new S3Error(
      403,
      'AccessDenied',
      'There were headers present in the request which were not signed',
      {
        HeadersNotSigned: unsigned.join(', '),
      },
    );
  }
}

function signedHeaderSet(list: string, malformed: string): Set<string> {
  const names = new Set(list.split(';'));
  for (const required of ['host', PAYLOAD_HASH_HEADER]) {
    if (!names.has(required)) throw new S3Error(400, malformed, `The '${required}' header must be signed.`);
  }
  return names;
}

function requestToSign(
  req: IncomingMessage,
  target: RequestTarget,
  query: Query,
  headers: Record<string, string>,
) {
  return {
    method: req.method ?? 'GET',
    protocol: 'http:',
    hostname: headers.host ?? '',
    path: target.rawPath,
    query,
    headers,
  } satisfies SignableRequest;
}

/**
 * Verifies the request's signature (Authorization header or presigned query) and returns the payload hash it
 * promises: a hex SHA-256 the body must match, or UNSIGNED-PAYLOAD.
 */
export class Authenticator {
  private readonly signer: SignatureV4;

  constructor(private readonly settings: AuthSettings) {
    this.signer = new SignatureV4({
      service: SERVICE,
      region: settings.region,
      credentials: settings.credentials,
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: true,
    });
  }

  async authenticate(req: IncomingMessage, target: RequestTarget): Promise<string> {
    const authorization = headerValue(req.headers, 'authorization');
    const presigned = PRESIGN_PARAMETERS.some((name) => name in target.query);
    if (authorization !== undefined && presigned) {
      throw invalidArgument(
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
      );
    }
    if (authorization?.startsWith(`${ALGORITHM} `)) {
      return this.verifyHeaderSignature(req, target, authorization);
    }
    if (authorization === undefined && presigned) return this.verifyPresignedUrl(req, target);
    throw accessDenied();
  }

  /**
   * Checks the credential fields of a browser POST form and its signature: hex HMAC-SHA256, with the day's
   * signing key, of the base64 policy as sent. The policy's own conditions are its caller's business.
   */
  async verifyPostForm(form: {
    algorithm: string;
    credential: string;
    date: string;
    policy: string;
    signature: string;
  }) {
    if (form.algorithm !== ALGORITHM) throw invalidArgument(`X-Amz-Algorithm must be ${ALGORITHM}.`);
    if (!parseAmzDate(form.date)) throw invalidArgument('X-Amz-Date must be in the form YYYYMMDDTHHMMSSZ.');
    checkCredential(form.credential, form.date, this.settings, 'InvalidArgument');
    const { credentials, region } = this.settings;
    const key = await getSigningKey(Sha256, credentials, form.date.slice(0, 8), region, SERVICE);
    const expected = createHmac('sha256', key).update(form.policy, 'utf8').digest('hex');
    if (!sameSecret(expected, form.signature)) throw signatureMismatch();
  }

  private async verifyHeaderSignature(req: IncomingMessage, target: RequestTarget, authorization: string) {
    const malformed = 'AuthorizationHeaderMalformed';
    const components = new Map(
      authorization
        .slice(ALGORITHM.length + 1)
        .split(',')
        .map((part) => {
          const separator = part.indexOf('=');
          return [part.slice(0, separator).trim(), part.slice(separator + 1).trim()] as const;
        }),
    );
    const credential = components.get('Credential');
    const signedList = components.get('SignedHeaders');
    const signature = components.get('Signature');
    if (credential === undefined || signedList === undefined || signature === undefined) {
      throw new S3Error(
        400,
        malformed,
        'The authorization header is malformed; it needs Credential, SignedHeaders and Signature.',
      );
    }
    const amzDate = headerValue(req.headers, 'x-amz-date');
    const signingDate = parseAmzDate(amzDate);
    if (amzDate === undefined || !signingDate) {
      throw accessDenied('AWS authentication requires a valid x-amz-date header (YYYYMMDDTHHMMSSZ).');
    }
    checkCredential(credential, amzDate, this.settings, malformed);
    if (Math.abs(this.settings.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
      throw new S3Error(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
      );
    }
    const signed = signedHeaderSet(signedList, malformed);
    refuseUnsignedAmzHeaders(req, signed);
    const headers = receivedHeaders(req, signed);
    const payloadHash = headers[PAYLOAD_HASH_HEADER] ?? '';
    checkPayloadHash(payloadHash);
    const rebuilt = await this.signer.sign(requestToSign(req, target, target.query, headers), {
      signingDate,
      signableHeaders: signed,
    });
    const expected = /Signature=([0-9a-f]{64})$/.exec(String(rebuilt.headers.authorization))?.[1] ?? '';
    if (!sameSecret(expected, signature)) throw signatureMismatch();
    return payloadHash;
  }

  private async verifyPresignedUrl(req: IncomingMessage, target: RequestTarget) {
    const malformed = 'AuthorizationQueryParametersError';
    const parameter = (name: string) => {
      const value = queryValue(target.query, name);
      if (value === undefined || value === '') {
        throw new S3Error(400, malformed, `Query-string authentication requires the ${name} parameter.`);
      }
      return value;
    };
    if (parameter('X-Amz-Algorithm') !== ALGORITHM) {
      throw new S3Error(400, malformed, `X-Amz-Algorithm only supports "${ALGORITHM}".`);
    }
    const credential = parameter('X-Amz-Credential');
    const amzDate = parameter('X-Amz-Date');
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) throw new S3Error(400, malformed, 'X-Amz-Date must be in the form YYYYMMDDTHHMMSSZ.');
    const expires = parameter('X-Amz-Expires');
    const expiresIn = Number(expires);
    if (!/^[1-9]\d*$/.test(expires) || expiresIn > MAX_PRESIGNED_EXPIRY_SECONDS) {
      throw new S3Error(
        400,
        malformed,
        `X-Amz-Expires must be between 1 and ${MAX_PRESIGNED_EXPIRY_SECONDS} seconds.`,
      );
    }
    const signed = new Set(parameter('X-Amz-SignedHeaders').split(';'));
    if (!signed.has('host')) throw new S3Error(400, malformed, "The 'host' header must be signed.");
    const signature = parameter(SIGNATURE_PARAMETER);
    checkCredential(credential, amzDate, this.settings, malformed);
    const now = this.settings.now();
    if (now > signingDate.getTime() + expiresIn * 1000) throw accessDenied('Request has expired');
    if (signingDate.getTime() - now > MAX_CLOCK_SKEW_MS) throw accessDenied('Request is not valid yet');
    refuseUnsignedAmzHeaders(req, signed);
    const headers = receivedHeaders(req, signed);
    const payloadHash = headers[PAYLOAD_HASH_HEADER] ?? UNSIGNED_PAYLOAD;
    checkPayloadHash(payloadHash);
    const query = Object.fromEntries(
      Object.entries(target.query).filter(([name]) => name !== SIGNATURE_PARAMETER),
    );
    const rebuilt = await this.signer.presign(
      requestToSign(req, target, query, { ...headers, [PAYLOAD_HASH_HEADER]: payloadHash }),
      {
        signingDate,
        expiresIn,
        signableHeaders: signed,
        // The payload hash of a presigned request is not a header unless it was signed as one...
        unsignableHeaders: new Set([PAYLOAD_HASH_HEADER]),
        // ...and the query is taken as received: nothing may be moved into it.
        unhoistableHeaders: new Set([...Object.keys(headers), PAYLOAD_HASH_HEADER]),
      },
    );
    if (!sameSecret(String(rebuilt.query?.[SIGNATURE_PARAMETER]), signature)) throw signatureMismatch();
    return payloadHash;
  }
}

const signatureMismatch = () =>
  new S3Error(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
