const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** As many as fetch itself follows. */
const MAX_REDIRECTS = 20;

/** A request the client did not follow to where the server pointed it. */
export class RedirectRefusedError extends Error {
  override name = 'RedirectRefusedError';
}

/**
 * `fetch` that follows redirects within the origin it was called for, and never to another. Node's fetch re-sends
 * the body (a refresh token, a chat message) on 307 and 308, and the headers, wherever the server points it: a
 * misconfigured server or proxy in between must not be able to hand a sign-in to someone else. Browsers hide
 * where a redirect leads (an opaque response), so there every redirect is refused.
 */
export async function fetchWithinOrigin(
  input: Request | string | URL,
  init: RequestInit = {},
): Promise<Response> {
  // tRPC and EventSource pass a URL; a Request may hold a body that cannot be sent a second time.
  if (input instanceof Request) throw new TypeError('fetchWithinOrigin takes a URL, not a Request.');
  let url = new URL(input);
  let request = init;
  for (let redirects = 0; ; redirects++) {
    const response = await fetch(url, { ...request, redirect: 'manual' });
    if (response.type === 'opaqueredirect')
      throw new RedirectRefusedError(`The server redirected ${url.pathname}; the client does not follow.`);
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) return response;
    await response.body?.cancel();
    const next = new URL(location, url);
    if (next.origin !== url.origin)
      throw new RedirectRefusedError(
        `The server at ${url.origin} redirected to ${next.origin}; not followed, so nothing was sent there.`,
      );
    if (redirects === MAX_REDIRECTS) throw new RedirectRefusedError('The server redirected too many times.');
    // As fetch does: after a 303, or a 301/302 answering a POST, the request goes on as a GET without a body.
    const asGet =
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && request.method?.toUpperCase() === 'POST');
    if (asGet) {
      const headers = new Headers(request.headers);
      headers.delete('content-type');
      request = { ...request, method: 'GET', body: null, headers };
    }
    url = next;
  }
}
