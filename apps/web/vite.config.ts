import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // `pnpm dev` here: the API runs on the server (`pnpm dev` at the root) and is proxied, SSE included.
  server: { port: 5173, proxy: { '/trpc': 'http://localhost:3000' } },
  build: { outDir: 'dist', sourcemap: true },
  test: {
    include: ['src/**/*.test.{ts,tsx}', 'e2e/**/*.test.ts'],
    // Generous: a browser journey takes 40 s on a quiet machine and more while CI runs three packages' tests
    // at once on two cores (one passed 60 s there). A limit here only stops a test that hangs.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
