import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { NextFunction, Request, Response } from 'express';

/**
 * Far beyond what any call of the API sends (a batch, superjson's envelope and an input object nest under 10
 * levels and hold a few dozen values), far below what makes parsing and validation expensive: a body of
 * 60,000 empty arrays costs superjson ~100 ms, a megabyte nested 500,000 deep most of a second.
 */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_VALUES = 10_000;

/**
 * What is wrong with the shape of a JSON text, counted in one pass without parsing (stopping as soon as a limit
 * is passed): nesting deeper than `MAX_JSON_DEPTH`, or more than `MAX_JSON_VALUES` arrays, objects and members.
 * Brackets and commas inside strings do not count.
 */
export function jsonShapeProblem(text: string): string | undefined {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return `Request input is nested more than ${MAX_JSON_DEPTH} levels deep.`;
      values++;
    } else if (code === 0x5d || code === 0x7d) depth--;
    else if (code === 0x2c) values++;
    if (values > MAX_JSON_VALUES) return `Request input holds more than ${MAX_JSON_VALUES} values.`;
  }
  return undefined;
}

const HTTP_STATUS = { BAD_REQUEST: 400, PAYLOAD_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415 } as const;
type Refusal = keyof typeof HTTP_STATUS;

/**
 * Reads a tRPC request's input itself, so that input too large, nested too deeply, too many values or not JSON
 * at all is refused before anything parses it, or counts it against a rate limit (tRPC would also take form
 * data, which a web page can post across sites without asking). A POST body is handed on as text
 * (`req.body`), which tRPC takes as it is; a GET input is read the way tRPC reads it (the first `input`).
 */
export function requestBounds(maxBodyBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const refuse = (code: Refusal, message: string) => {
      if (code === 'PAYLOAD_TOO_LARGE') res.set('connection', 'close');
      res.status(HTTP_STATUS[code]).json(trpcErrors(req, code, message));
    };
    if (req.method !== 'POST') {
      const inputs = new URL(req.originalUrl, 'http://localhost').searchParams.getAll('input');
      const problem =
        inputs.length > 1 ? 'Request input is given more than once.' : jsonShapeProblem(inputs[0] ?? '');
      if (problem) refuse('BAD_REQUEST', problem);
      else next();
      return;
    }
    const tooLarge = `Request body is larger than ${maxBodyBytes} bytes.`;
    if (!req.is('application/json')) {
      refuse('UNSUPPORTED_MEDIA_TYPE', 'Send the request as JSON (Content-Type: application/json).');
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      refuse('PAYLOAD_TOO_LARGE', tooLarge);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      refuse('PAYLOAD_TOO_LARGE', tooLarge);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const problem = jsonShapeProblem(text);
      if (problem) {
        refuse('BAD_REQUEST', problem);
        return;
      }
      req.body = text;
      next();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', next);
  };
}

/** The error in tRPC's own wire shape (superjson), once per call of a batch, so clients read it as usual. */
function trpcErrors(req: Request, code: Refusal, message: string) {
  const error = (path: string) => ({
    error: {
      json: {
        message,
        code: TRPC_ERROR_CODES_BY_KEY[code],
        data: { code, httpStatus: HTTP_STATUS[code], path, zodError: null },
      },
    },
  });
  const paths = req.path.replace(/^\//, '').split(',');
  return req.query.batch === '1' ? paths.map(error) : error(paths[0] ?? '');
}
