import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { crc32 } from 'node:zlib';
import { notImplemented, S3Error } from './errors.js';
import { headerValue } from './request.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** XML request bodies (Delete, Tagging) are read whole; nothing legitimate comes near this. */
const MAX_SMALL_BODY_BYTES = 1024 * 1024;

type Algorithm = 'md5' | 'sha1' | 'sha256' | 'crc32';

interface Digester {
  update(chunk: Buffer): void;
  /** The same result however often it is asked for. */
  digest(): Buffer;
}

function createDigester(algorithm: Algorithm): Digester {
  if (algorithm === 'crc32') {
    let value = 0;
    return {
      update: (chunk) => {
        value = crc32(chunk, value);
      },
      digest: () => {
        const bigEndian = Buffer.alloc(4);
        bigEndian.writeUInt32BE(value);
        return bigEndian;
      },
    };
  }
  const hash = createHash(algorithm);
  let result: Buffer | undefined;
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: () => {
      result ??= hash.digest();
      return result;
    },
  };
}

export interface Expectation {
  algorithm: Algorithm;
  encoding: 'hex' | 'base64';
  expected: string;
  mismatch: () => S3Error;
}

const CHECKSUM_PREFIX = 'x-amz-checksum-';
/** `x-amz-checksum-mode` (a GetObject option) and `-type` (multipart) name no checksum of this body. */
const CHECKSUM_OPTIONS: ReadonlySet<string> = new Set(['mode', 'type']);

const isChecksumHeader = (name: string) =>
  name.startsWith(CHECKSUM_PREFIX) && !CHECKSUM_OPTIONS.has(name.slice(CHECKSUM_PREFIX.length));

const isVerifiedChecksum = (name: string): name is 'crc32' | 'sha1' | 'sha256' =>
  name === 'crc32' || name === 'sha1' || name === 'sha256';

/** What the request says its body hashes to: the signed SHA-256, Content-MD5 and `x-amz-checksum-*`. */
export function bodyExpectations(headers: IncomingHttpHeaders, payloadHash: string): Expectation[] {
  const expectations: Expectation[] = [];
  if (payloadHash !== UNSIGNED_PAYLOAD) {
    expectations.push({
      algorithm: 'sha256',
      encoding: 'hex',
      expected: payloadHash,
      mismatch: () =>
        new S3Error(
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
    });
  }
  const contentMd5 = headerValue(headers, 'content-md5');
  if (contentMd5 !== undefined) {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(contentMd5)) {
      throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
    }
    expectations.push({
      algorithm: 'md5',
      encoding: 'base64',
      expected: contentMd5,
      mismatch: () =>
        new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.'),
    });
  }
  for (const name of Object.keys(headers).filter(isChecksumHeader)) {
    const algorithm = name.slice(CHECKSUM_PREFIX.length);
    if (!isVerifiedChecksum(algorithm)) {
      throw notImplemented(
        `The ${algorithm.toUpperCase()} checksum algorithm is not supported by this store.`,
      );
    }
    expectations.push({
      algorithm,
      encoding: 'base64',
      expected: headerValue(headers, name) ?? '',
      mismatch: () =>
        new S3Error(
          400,
          'BadDigest',
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        ),
    });
  }
  const announced = headerValue(headers, 'x-amz-sdk-checksum-algorithm');
  if (announced !== undefined && headers[CHECKSUM_PREFIX + announced.toLowerCase()] === undefined) {
    throw new S3Error(
      400,
      'InvalidRequest',
      'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
    );
  }
  if (headers['x-amz-trailer'] !== undefined) {
    throw notImplemented('Trailing checksums are not supported by this store.');
  }
  return expectations;
}

/** S3 wants an integrity header on some operations (DeleteObjects, PutObjectTagging). */
export function requireChecksumHeader(headers: IncomingHttpHeaders): void {
  if (headers['content-md5'] === undefined && !Object.keys(headers).some(isChecksumHeader)) {
    throw new S3Error(
      400,
      'InvalidRequest',
      'Missing required header for this request: Content-MD5 OR x-amz-checksum-*',
    );
  }
}

export interface ByteLimit {
  maxBytes: number;
  tooLarge: () => S3Error;
}

/** Hashes a body as it goes by, then checks it against what the request promised. */
export class BodyVerifier {
  bytes = 0;
  private readonly digesters = new Map<Algorithm, Digester>();
  private readonly md5 = this.digesterFor('md5');
  private readonly checks: readonly (Expectation & { digester: Digester })[];

  constructor(expectations: readonly Expectation[] = []) {
    this.checks = expectations.map((expectation) => ({
      ...expectation,
      digester: this.digesterFor(expectation.algorithm),
    }));
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const digester of this.digesters.values()) digester.update(chunk);
  }

  /** A pass-through that feeds this verifier, failing with `limit.tooLarge()` once past `limit.maxBytes`. */
  meter(limit?: ByteLimit): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.update(chunk);
        if (limit && this.bytes > limit.maxBytes) callback(limit.tooLarge());
        else callback(null, chunk);
      },
    });
  }

  /** Throws the first broken promise about the body; returns its MD5 in hex (the ETag). */
  finish(): string {
    for (const { digester, encoding, expected, mismatch } of this.checks) {
      if (digester.digest().toString(encoding) !== expected) throw mismatch();
    }
    return this.md5.digest().toString('hex');
  }

  private digesterFor(algorithm: Algorithm): Digester {
    const existing = this.digesters.get(algorithm);
    if (existing) return existing;
    const created = createDigester(algorithm);
    this.digesters.set(algorithm, created);
    return created;
  }
}

const tooBig = () => new S3Error(400, 'MaxMessageLengthExceeded', 'Your request was too big.');

/** Reads a small body whole and verifies it. Stops reading (without consuming the rest) when it is too big. */
export function readSmallBody(req: IncomingMessage, verifier: BodyVerifier): Promise<Buffer> {
  if (Number(headerValue(req.headers, 'content-length') ?? 0) > MAX_SMALL_BODY_BYTES) {
    return Promise.reject(tooBig());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      verifier.update(chunk);
      if (verifier.bytes <= MAX_SMALL_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.pause();
      reject(tooBig());
    };
    req.on('data', onData);
    req.once('error', reject);
    req.once('end', () => {
      try {
        verifier.finish();
        resolve(Buffer.concat(chunks));
      } catch (error) {
        reject(error);
      }
    });
  });
}
