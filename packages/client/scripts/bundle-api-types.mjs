// Makes the built SDK's declarations self-contained: @leonidas/api is private (never published), so the types
// the SDK exports from it are written into dist/api/ and dist/*.d.ts import them from there.
//
// TypeScript's declaration of the router (`root.d.ts`) spells every procedure's input and output out in full;
// it refers to nothing of the server but the tRPC context (replaced by `object`: a client never sees it) and the
// chat's event type (`chat/schema.d.ts`, which needs only zod). The build fails if anything else creeps in.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const client = join(here, '..');
const api = join(client, '..', 'api');
const dist = join(client, 'dist');
/** What the published declarations may import: the package's own files and these dependencies. */
const ALLOWED_PACKAGES = ['@trpc/server', '@trpc/server/unstable-core-do-not-import', 'zod'];

const emitted = mkdtempSync(join(tmpdir(), 'leonidas-api-types-'));
try {
  const tsc = createRequire(join(api, 'package.json')).resolve('typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [
      tsc,
      '-p',
      join(api, 'tsconfig.json'),
      '--noEmit',
      'false',
      '--declaration',
      '--emitDeclarationOnly',
      '--outDir',
      emitted,
    ],
    { stdio: 'inherit' },
  );
  const read = (path) => readFileSync(join(emitted, 'src', path), 'utf8');
  const files = {
    'root.d.ts': read('root.d.ts')
      .replaceAll('import("./context.js").Context', 'object')
      .replaceAll('import("./index.js").ChatEvent', 'import("./chat/schema.js").ChatEvent'),
    'chat/schema.d.ts': read('chat/schema.d.ts'),
    'index.d.ts': [
      "import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';",
      "import type { AppRouter } from './root.js';",
      "export type { AppRouter } from './root.js';",
      "export type { CellValue, ChatEvent, MakeChartOutput, Message, NumberCheck, RunSqlOutput, SaveTableOutput, ToolError } from './chat/schema.js';",
      'export type RouterInputs = inferRouterInputs<AppRouter>;',
      'export type RouterOutputs = inferRouterOutputs<AppRouter>;',
      '',
    ].join('\n'),
  };
  for (const [path, text] of Object.entries(files)) {
    for (const [, specifier] of text.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)) {
      const relative = specifier.startsWith('.');
      const known = relative
        ? Object.keys(files).includes(join(dirname(path), specifier).replace(/\.js$/, '.d.ts'))
        : ALLOWED_PACKAGES.includes(specifier);
      if (!known)
        throw new Error(`dist/api/${path} would import ${specifier}, which the package does not ship`);
    }
    mkdirSync(dirname(join(dist, 'api', path)), { recursive: true });
    writeFileSync(join(dist, 'api', path), text);
  }
  // The SDK's own declarations take those types from the package itself.
  for (const name of readdirSync(dist).filter((file) => file.endsWith('.d.ts'))) {
    const path = join(dist, name);
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll("'@leonidas/api'", "'./api/index.js'"));
  }
} finally {
  rmSync(emitted, { recursive: true, force: true });
}
