// Whether the process's stdout is a terminal, also inside the service thread,
// whose process.stdout is a pipe to the main thread (src/server.ts tells it).
import { isMainThread, workerData } from 'node:worker_threads'

interface LauncherData {
  stdoutIsTTY?: boolean
}

export const stdoutIsTerminal: boolean = isMainThread
  ? process.stdout.isTTY === true
  : (workerData as LauncherData | null)?.stdoutIsTTY === true
