// Lowers the scheduling priority of the process's helper threads, so that
// on a busy CPU the thread that answers requests runs first and the helpers
// take what is left. On a CPU shared with Postgres, Redis or a pinned process,
// V8's concurrent marking otherwise takes whole scheduler slices from it:
// trains of 15–25 ms stalls before each full collection (bench/README.md).
// On Linux a thread's nice value is its own (setpriority(2) with a thread id),
// and a thread inherits its creator's: so this runs before the service thread
// is created, and leaves the calling thread, its creator, as it is. It lowers
// the threads that exist then: V8's platform workers, and libuv's pool and the
// module loader's thread when loading started them.
import { readdirSync, readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'

/** Sets `nice` on every thread of the process but the calling one (Linux; elsewhere nothing). */
export function lowerBackgroundThreads(nice: number): void {
  if (process.platform !== 'linux' || nice === 0) return
  let self: string
  try {
    // "<pid>/task/<tid>": the calling thread's id, which Node does not expose otherwise.
    self = readlinkSync('/proc/thread-self').split('/').at(-1) ?? ''
  } catch {
    return
  }
  for (const tid of readdirSync('/proc/self/task')) {
    if (tid === self) continue
    try {
      setPriority(Number(tid), nice)
    } catch {
      // The thread ended meanwhile, or the process already runs lower: nothing to lower.
    }
  }
}
