import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(import.meta.resolve('@leonidas/db/test-global-setup'))],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // What the default credential chain signs with; the test object store accepts only this pair, and
      // DynamoDB Local keeps the in-process servers' tables in this key's database.
      AWS_ACCESS_KEY_ID: 'AKIALEONIDASTESTS000',
      AWS_SECRET_ACCESS_KEY: 'a-test-secret-known-to-the-test-object-store',
    },
    // Generous: the process tests start the built server (Java included) several times, and CI runs three
    // packages' tests at once on two cores; a limit here only stops a test that hangs.
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
