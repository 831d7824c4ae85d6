/**
 * What Linux's /proc says about another process: CPU time (all threads, user + system), resident
 * memory and open file descriptors, for the benchmarks and the reliability suite. On a system
 * without /proc the readers answer NaN (the tables print n/a).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux Node runs on). */
const TICKS_PER_S = 100;

/** CPU time of a process so far, µs (10 ms resolution). */
export function cpuUs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces, hence the split on ') ').
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/**
 * How long the process's main thread (the event loop) sat runnable but not running, µs: time the
 * machine's other work took from it. Large on a shared machine; it is why latencies wander.
 */
export function runqueueWaitUs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process now (`VmRSS`) or at its peak (`VmHWM`), MB. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Open file descriptors (sockets, files, pipes), or NaN once the process is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}
