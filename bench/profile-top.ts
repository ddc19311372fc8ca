/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, e.g. the server started by a bench with
 * `BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`): the top frames by self time, and the time
 * by package (node_modules/<name>, node: internals, our own workspace files, GC, idle), so a note can say where
 * a path spends its time. Usage: `tsx profile-top.ts <file.cpuprofile | folder> [frames=25]`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * The module each line of a bundle came from: esbuild writes `// <path>` before each module it inlines, so a
 * frame in the server's one-file build is put back in its package (the bundle's source map would say the same,
 * at more cost).
 */
const bundles = new Map<string, { lines: number[]; paths: string[] } | null>();
function bundledModule(url: string, line: number): string | undefined {
  if (!bundles.has(url)) {
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!path.endsWith('.js') || !existsSync(path)) bundles.set(url, null);
    else {
      const lines: number[] = [];
      const paths: string[] = [];
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((text, i) => {
          const module = /^\/\/ (\S+\.[cm]?[jt]sx?)$/.exec(text)?.[1];
          if (module) {
            lines.push(i);
            paths.push(module);
          }
        });
      bundles.set(url, lines.length > 10 ? { lines, paths } : null);
    }
  }
  const bundle = bundles.get(url);
  if (!bundle) return undefined;
  let low = 0;
  let high = bundle.lines.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((bundle.lines[mid] ?? 0) <= line) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found >= 0 ? bundle.paths[found] : undefined;
}

/** Where a frame's code lives: a package, a Node internal, our own code, or V8's own entries. */
export function area(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`;
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const workspace = /(?:^|\/)(packages|apps)\/([^/]+)\//.exec(url);
  if (workspace) return `@leonidas/${workspace[2]}`;
  return url;
}

export function summarise(profile: CpuProfile, frames: number): string {
  const selfMs = new Map<number, number>();
  profile.samples.forEach((nodeId, i) => {
    selfMs.set(nodeId, (selfMs.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const byFrame = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = selfMs.get(node.id) ?? 0;
    if (ms === 0) continue;
    total += ms;
    const { functionName, lineNumber } = node.callFrame;
    const url = bundledModule(node.callFrame.url, lineNumber) ?? node.callFrame.url;
    const file = url
      .replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')
      .replace(/^.*\/work\/[^/]+\//, '');
    const frame = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + ms);
    const where = area(url, functionName);
    byArea.set(where, (byArea.get(where) ?? 0) + ms);
  }
  const busy = total - (byArea.get('((idle))') ?? 0);
  const table = (entries: Map<string, number>, count: number, skipIdle: boolean) =>
    [...entries]
      .filter(([name]) => !(skipIdle && (name === '((idle))' || name.startsWith('(idle)'))))
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(
        ([name, ms]) =>
          `${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}`,
      )
      .join('\n');
  return [
    `profiled ${(total / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s (${((busy / total) * 100).toFixed(0)}%); shares are of busy time`,
    'by area:',
    table(byArea, 15, true),
    `top ${frames} frames by self time:`,
    table(byFrame, frames, true),
  ].join('\n');
}

const [target, frameCount = '25'] = process.argv.slice(2);
if (import.meta.filename === process.argv[1]) {
  if (!target) {
    console.error('usage: tsx profile-top.ts <file.cpuprofile | folder> [frames]');
    process.exit(2);
  }
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((name) => name.endsWith('.cpuprofile'))
        .map((name) => join(target, name))
    : [target];
  for (const file of files) {
    console.log(`\n== ${file}`);
    console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(frameCount)));
  }
}
