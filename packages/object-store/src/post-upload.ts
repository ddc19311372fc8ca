import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Authenticator } from './auth.js';
import { BodyVerifier } from './body.js';
import { accessDenied, invalidArgument, S3Error } from './errors.js';
import type { ObjectFiles } from './files.js';
import { authorizePostForm, type PostGrant } from './post-policy.js';

export interface PostUploadContext {
  files: ObjectFiles;
  authenticator: Authenticator;
  bucket: string;
  now: () => number;
}

export interface PostUploadResult {
  key: string;
  md5: string;
  status: PostGrant['successStatus'];
}

/** S3 allows 20 KB of fields before the file; the counts are generous for a form of a dozen fields. */
const FORM_LIMITS = { files: 1, parts: 60, fieldSize: 20 * 1024, headerPairs: 100 };

const malformedForm = (reason: string) =>
  new S3Error(
    400,
    'MalformedPOSTRequest',
    `The body of your POST request is not well-formed multipart/form-data: ${reason}`,
  );
const notOneFile = () => invalidArgument('POST requires exactly one file upload per request.');

/**
 * Receives a browser POST upload: the fields before the file are checked against the policy before a byte of the
 * file is read, the file goes to a temp file while it is counted (refused as soon as it passes the policy's
 * maximum), and the object is put in place only once the whole form was read and every check held. On refusal
 * the request is left unread, so the caller can answer and close the connection.
 */
export function receivePostUpload(
  req: IncomingMessage,
  context: PostUploadContext,
): Promise<PostUploadResult> {
  const { files } = context;
  let form: busboy.Busboy;
  try {
    form = busboy({ headers: req.headers, limits: FORM_LIMITS });
  } catch (error) {
    return Promise.reject(malformedForm(error instanceof Error ? error.message : 'unreadable'));
  }
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    let upload: Promise<{ grant: PostGrant; staged: string; verifier: BodyVerifier }> | undefined;
    let settled = false;

    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(form);
      form.destroy();
      upload?.then(({ staged }) => files.discard(staged)).catch(() => undefined);
      reject(error);
    };

    const receiveFile = async (file: Readable) => {
      const grant = await authorizePostForm(fields, context.bucket, context.authenticator, context.now());
      const verifier = new BodyVerifier();
      const tooLarge = () =>
        new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
          MaxSizeAllowed: String(grant.maxBytes),
        });
      const staged = await files.stage(file, verifier.meter({ maxBytes: grant.maxBytes, tooLarge }));
      if (settled) {
        // The request was refused while the file arrived; `fail` found nothing to clean up yet.
        await files.discard(staged);
        throw new S3Error(400, 'IncompleteBody', 'The upload was refused while it arrived.');
      }
      return { grant, staged, verifier };
    };

    const finish = async () => {
      if (!upload) {
        throw fields.has('policy') || fields.has('x-amz-signature') ? notOneFile() : accessDenied();
      }
      const { grant, staged, verifier } = await upload;
      if (verifier.bytes < grant.minBytes) {
        throw new S3Error(
          400,
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed size',
          {
            MinSizeAllowed: String(grant.minBytes),
          },
        );
      }
      const md5 = verifier.finish();
      await files.commit(staged, grant.key, { ...grant.record, md5 });
      settled = true;
      resolve({ key: grant.key, md5, status: grant.successStatus });
    };

    // An exception inside a busboy event would escape to the process and end it: every handler reports instead.
    const guarded =
      <Args extends unknown[]>(handler: (...args: Args) => void) =>
      (...args: Args) => {
        try {
          handler(...args);
        } catch (error) {
          fail(error);
        }
      };
    const partName = (name: string | undefined) => {
      if (!name) throw malformedForm('a part has no field name');
      return name.toLowerCase();
    };

    form.on(
      'field',
      guarded((name: string | undefined, value: string, info: busboy.FieldInfo) => {
        // S3 ignores what follows the file.
        if (upload || settled) return;
        if (info.nameTruncated || info.valueTruncated) {
          throw new S3Error(
            400,
            'MaxPostPreDataLengthExceeded',
            'Your POST request fields preceding the upload file were too large.',
          );
        }
        const normalized = partName(name);
        if (fields.has(normalized)) throw invalidArgument(`The form field ${name} appears more than once.`);
        fields.set(normalized, value);
      }),
    );
    form.on(
      'file',
      guarded((name: string | undefined, file: Readable) => {
        // Failures reach `fail` through the form; but destroying the form (on any refusal) also destroys this
        // stream with an error, possibly while nothing reads it yet (the policy is checked first), and an
        // 'error' without a listener would bring the whole process down.
        file.on('error', () => undefined);
        if (settled) {
          // Refused already: nothing of this file is kept.
          file.resume();
          return;
        }
        if (partName(name) !== 'file') {
          throw invalidArgument("The file must be sent in a form field named 'file'.");
        }
        upload = receiveFile(file);
        upload.catch(fail);
      }),
    );
    form.on('filesLimit', () => fail(notOneFile()));
    form.on('partsLimit', () => fail(malformedForm('too many parts')));
    form.on('error', (error: unknown) =>
      fail(malformedForm(error instanceof Error ? error.message : 'unreadable')),
    );
    form.on('close', () => {
      if (!settled) finish().catch(fail);
    });
    req.on('close', () => {
      if (!req.complete) {
        fail(new S3Error(400, 'IncompleteBody', 'The request body terminated unexpectedly.'));
      }
    });
    req.pipe(form);
  });
}
