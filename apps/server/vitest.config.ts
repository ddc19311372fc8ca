import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(import.meta.resolve('@leonidas/db/test-global-setup'))],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The default credential chain signs for both test stand-ins: s3rver takes only this pair, and
      // DynamoDB Local takes any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
