import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Terraform loads a large provider for each init, plan and show; CI runs three packages' tests at once
    // on two cores. A limit here only stops a test that hangs.
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
