import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // The setup builds and starts the real server (Java included); stopped by PID in its teardown.
    globalSetup: ['test/load-server.ts'],
    // Generous on purpose: the test checks correctness, never speed, and CI runs three packages' tests at once
    // on two cores. A limit here only stops a run that hangs.
    hookTimeout: 300_000,
    testTimeout: 600_000,
  },
});
