/**
 * What a test can see of a running process from outside it, through /proc:
 * its resident memory, and its connections to the Docker daemon's socket.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** VmRSS of the process, in bytes. */
export function residentBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

/** CPU time the process has used so far, user and system, in ms (/proc/PID/stat's utime and stime, in clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command's parenthesis: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The inodes of the sockets the process holds (its /proc/PID/fd links `socket:[N]`). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // Closed while we looked.
    }
  }
  return inodes;
}

/**
 * Connections the process holds to the daemon's unix socket: the daemon's
 * end of each is listed by `ss` under the socket's path, with the inode of
 * the client's end as its peer, which is one of the process's.
 */
export function dockerConnections(pid: number, socketPath = '/var/run/docker.sock'): number {
  const mine = socketInodes(pid);
  let count = 0;
  for (const line of execFileSync('ss', ['-xn']).toString().split('\n')) {
    // Netid State Recv-Q Send-Q Local Port Peer Port
    const fields = line.trim().split(/\s+/);
    if (fields[4] === socketPath && mine.has(fields[7] ?? '')) count++;
  }
  return count;
}
