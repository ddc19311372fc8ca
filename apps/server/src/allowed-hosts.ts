import type { NextFunction, Request, Response } from 'express';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * The host names this server answers to, or null for any. A server on loopback answers only to loopback names
 * (and its browser origins): a web page whose own name was made to resolve to 127.0.0.1 (DNS rebinding) is then
 * refused, rather than reaching the API as if it were the app. Elsewhere (a container behind a load balancer)
 * the public name is not known, unless `ALLOWED_HOSTS` says it.
 */
export function allowedHosts(env: {
  HOST: string;
  ALLOWED_HOSTS?: string[] | undefined;
  CORS_ORIGINS: string[];
}): Set<string> | null {
  if (env.ALLOWED_HOSTS) return env.ALLOWED_HOSTS.includes('*') ? null : new Set(env.ALLOWED_HOSTS);
  if (!LOOPBACK_NAMES.includes(env.HOST)) return null;
  return new Set([...LOOPBACK_NAMES, ...env.CORS_ORIGINS.map((origin) => new URL(origin).hostname)]);
}

/** The host name of a `Host` header, lower-cased, without its port (`[::1]:3000` is `::1`). */
export function hostName(header: string | undefined): string {
  const value = (header ?? '').trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) return bracketed[1];
  return value.replace(/:\d+$/, '');
}

export function requireAllowedHost(allowed: Set<string> | null) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (allowed === null || allowed.has(hostName(req.headers.host))) next();
    else
      res.status(421).json({ error: 'This server does not answer to that host name (see ALLOWED_HOSTS).' });
  };
}
