import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // The suite builds and starts the real server, and runs the eval as its own process against it.
    hookTimeout: 180_000,
    testTimeout: 180_000,
  },
});
