import { MAX_BATCH_ITEMS } from '@leonidas/client';
import { describe, expect, it } from 'vitest';
import { loadServerEnv } from './env.js';

describe('CORS_ORIGINS', () => {
  it("always holds the server's own origin, on whatever port, besides the ones configured", () => {
    expect(loadServerEnv({ PORT: '8080' }).CORS_ORIGINS).toEqual([
      'http://localhost:5173',
      'http://localhost:8080',
      'http://127.0.0.1:8080',
    ]);
    expect(
      loadServerEnv({ PORT: '8080', CORS_ORIGINS: 'https://app.example.com,http://localhost:8080' })
        .CORS_ORIGINS,
    ).toEqual(['https://app.example.com', 'http://localhost:8080', 'http://127.0.0.1:8080']);
    // Any free port: nothing to name before it listens.
    expect(loadServerEnv({ PORT: '0', CORS_ORIGINS: 'https://app.example.com' }).CORS_ORIGINS).toEqual([
      'https://app.example.com',
    ]);
  });
});

describe('keep-alive and header timeouts', () => {
  it('outlast a load balancer idle timeout of 60 s by default', () => {
    const env = loadServerEnv({});
    expect(env.KEEP_ALIVE_TIMEOUT_SECONDS).toBeGreaterThan(60);
    expect(env.HEADERS_TIMEOUT_SECONDS).toBeGreaterThan(env.KEEP_ALIVE_TIMEOUT_SECONDS);
  });

  it('take configured values', () => {
    const env = loadServerEnv({ KEEP_ALIVE_TIMEOUT_SECONDS: '125', HEADERS_TIMEOUT_SECONDS: '126' });
    expect([env.KEEP_ALIVE_TIMEOUT_SECONDS, env.HEADERS_TIMEOUT_SECONDS]).toEqual([125, 126]);
  });

  it('refuse a headers timeout that is not longer than the keep-alive, naming both', () => {
    expect(() => loadServerEnv({ KEEP_ALIVE_TIMEOUT_SECONDS: '90', HEADERS_TIMEOUT_SECONDS: '90' })).toThrow(
      /HEADERS_TIMEOUT_SECONDS: must be longer than KEEP_ALIVE_TIMEOUT_SECONDS \(90\)/,
    );
  });

  it.each([
    ['KEEP_ALIVE_TIMEOUT_SECONDS', 'soon'],
    ['KEEP_ALIVE_TIMEOUT_SECONDS', '0'],
    ['KEEP_ALIVE_TIMEOUT_SECONDS', '300'],
    ['HEADERS_TIMEOUT_SECONDS', '301'],
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(() => loadServerEnv({ [name]: value })).toThrow(new RegExp(`${name}:`));
  });
});

describe('MAX_BATCH_SIZE', () => {
  it("is never below the SDK's batch, so the SDK's batches are never refused", () => {
    expect(loadServerEnv({}).MAX_BATCH_SIZE).toBe(MAX_BATCH_ITEMS);
    expect(loadServerEnv({ MAX_BATCH_SIZE: '50' }).MAX_BATCH_SIZE).toBe(50);
    expect(() => loadServerEnv({ MAX_BATCH_SIZE: String(MAX_BATCH_ITEMS - 1) })).toThrow(/MAX_BATCH_SIZE/);
  });
});
