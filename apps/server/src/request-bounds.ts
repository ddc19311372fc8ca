import type { NextFunction, Request, Response } from 'express';

/**
 * Far deeper than any call of the API nests (a batch, superjson's envelope and an input object stay under 10
 * levels), far shallower than what makes parsing and validation expensive.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The deepest nesting of arrays and objects in a JSON text, counted in one pass without parsing, stopping as
 * soon as `limit` is passed. Brackets inside strings do not count.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > limit) return true;
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
  return false;
}

/**
 * Reads a tRPC request's JSON body itself, so that a body too large or nested too deeply is refused before
 * anything parses it (a megabyte of `[` costs JSON parsing and validation most of a second of the one event
 * loop). The body is handed on as text (`req.body`), which tRPC takes as it is. GET inputs are checked too.
 */
export function requestBounds(maxBodyBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const refuse = (status: 400 | 413, message: string) => {
      if (status === 413) res.set('connection', 'close');
      res.status(status).json(trpcErrors(req, status, message));
    };
    const tooDeep = `Request input is nested more than ${MAX_JSON_DEPTH} levels deep.`;
    const tooLarge = `Request body is larger than ${maxBodyBytes} bytes.`;
    if (req.method !== 'POST') {
      const input = typeof req.query.input === 'string' ? req.query.input : '';
      if (jsonDepthExceeds(input, MAX_JSON_DEPTH)) refuse(400, tooDeep);
      else next();
    } else if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      refuse(413, tooLarge);
    } else {
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
        refuse(413, tooLarge);
      };
      const onEnd = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) refuse(400, tooDeep);
        else {
          req.body = text;
          next();
        }
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', next);
    }
  };
}

/** The error in tRPC's own wire shape (superjson), once per call of a batch, so clients read it as usual. */
function trpcErrors(req: Request, status: 400 | 413, message: string) {
  const code = status === 400 ? 'BAD_REQUEST' : 'PAYLOAD_TOO_LARGE';
  const error = (path: string) => ({
    error: {
      json: {
        message,
        code: status === 400 ? -32600 : -32013,
        data: { code, httpStatus: status, path, zodError: null },
      },
    },
  });
  const paths = req.path.replace(/^\//, '').split(',');
  return req.query.batch === '1' ? paths.map(error) : error(paths[0] ?? '');
}
