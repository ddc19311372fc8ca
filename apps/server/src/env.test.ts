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
