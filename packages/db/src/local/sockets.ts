import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** The local address as the kernel writes it in /proc/net/tcp[6] (hex; `0100007F` is 127.0.0.1). */
  address: string;
  port: number;
  pid: number;
}

/**
 * The TCP sockets the given processes listen on, read from the kernel's own tables (Linux `/proc`): which
 * process holds a port, and on which address. Undefined where there is no `/proc`.
 */
export function listeningSockets(pids: number[]): ListeningSocket[] | undefined {
  if (!existsSync('/proc/net/tcp')) return undefined;
  const inodes = new Map<string, number>();
  for (const pid of pids) {
    for (const fd of listOrNothing(`/proc/${pid}/fd`)) {
      const inode = /^socket:\[(\d+)\]$/.exec(readLink(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.set(inode, pid);
    }
  }
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // Field 3 is the state (0A: LISTEN), field 9 the socket's inode.
      .filter((fields) => fields[3] === '0A' && inodes.has(fields[9] ?? ''))
      .map((fields) => {
        const [address = '', port = '0'] = (fields[1] ?? '').split(':');
        return { address, port: Number.parseInt(port, 16), pid: inodes.get(fields[9] ?? '') ?? 0 };
      }),
  );
}

/** 127.0.0.1 (as IPv4, or IPv4-mapped IPv6) or ::1, as /proc/net/tcp[6] writes them. */
export function isLoopbackAddress(address: string): boolean {
  return ['0100007F', '0000000000000000FFFF00000100007F', '00000000000000000000000001000000'].includes(
    address,
  );
}

/** Every process started under `pid`, itself included. */
export function processTree(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
  return [pid, ...children.flatMap(processTree)];
}

/** A descriptor can close between listing and reading it. */
function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** A process that has exited has no descriptors. */
function listOrNothing(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
