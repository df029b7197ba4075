/**
 * Which process listens on a TCP port, for the one-line "port in use" message: Linux's
 * /proc/net/tcp{,6} gives the listening socket's inode, and the process whose /proc/PID/fd holds
 * `socket:[inode]` is the holder. Best effort: undefined wherever /proc is absent or not readable
 * (another user's process, another network namespace, another OS).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TCP_LISTEN = '0A';

/** Inodes of the sockets listening on `port`, from the text of /proc/net/tcp or /proc/net/tcp6. */
export function listeningInodes(procNetTcp: string, port: number): string[] {
  const inodes: string[] = [];
  for (const line of procNetTcp.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const local = cols[1] ?? '';
    const localPort = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (localPort === port && cols[3] === TCP_LISTEN && cols[9] !== undefined && cols[9] !== '0') inodes.push(cols[9]);
  }
  return inodes;
}

export interface PortHolder {
  readonly pid: number;
  /** The command line, shortened to 80 characters. */
  readonly command: string;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The process listening on TCP `port` on this machine, when /proc lets us see it. */
export function findPortHolder(port: number): PortHolder | undefined {
  const inodes = new Set([...listeningInodes(readOr('/proc/net/tcp'), port), ...listeningInodes(readOr('/proc/net/tcp6'), port)]);
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (wanted.has(target)) {
        const cmd = readOr(`/proc/${pid}/cmdline`).split('\0').filter(Boolean).join(' ');
        return { pid: Number(pid), command: cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd };
      }
    }
  }
  return undefined;
}
