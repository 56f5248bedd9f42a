// Lowers the scheduling priority of the process's helper threads, so that
// on a busy CPU the threads that answer requests run first and the helpers
// (V8's concurrent marking and compilation, libuv's pool) take what is left.
// On Linux a thread's nice value is its own (setpriority(2) with a thread id),
// and a thread inherits its creator's: so this runs before the service thread
// is created, and leaves the calling thread, its creator, as it is.
import { readdirSync, readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'

/** Sets `nice` on every thread of the process but the calling one; returns how many. Linux only. */
export function lowerBackgroundThreads(nice: number): number {
  if (process.platform !== 'linux' || nice === 0) return 0
  let self: string
  try {
    // "<pid>/task/<tid>": the calling thread's id, which Node does not expose otherwise.
    self = readlinkSync('/proc/thread-self').split('/').at(-1) ?? ''
  } catch {
    return 0
  }
  let lowered = 0
  for (const tid of readdirSync('/proc/self/task')) {
    if (tid === self) continue
    try {
      setPriority(Number(tid), nice)
      lowered++
    } catch {
      // The thread ended meanwhile, or the process already runs lower: nothing to lower.
    }
  }
  return lowered
}
