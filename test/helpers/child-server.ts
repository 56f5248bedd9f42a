// The service in a child process (one node process: `node --import tsx`, so a
// signal reaches the server itself), for tests that stop an instance with
// SIGTERM or SIGKILL. Stopped by pid in teardown.
import { type ChildProcess, spawn } from 'node:child_process'
import { freePort } from './redis-server.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface ChildServer {
  base: string
  child: ChildProcess
  /** Sends the signal and waits for the process to exit. */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

export async function startChildServer(t: Teardown, env: Record<string, string>): Promise<ChildServer> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    if (child.exitCode !== null) throw new Error(`child server exited with ${child.exitCode}`)
    const up = await fetch(`${base}/health`).then(
      () => true,
      () => false,
    )
    if (up) break
    if (Date.now() > deadline) throw new Error('child server did not start')
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
  return {
    base,
    child,
    async stop(signal) {
      child.kill(signal)
      await exited
    },
  }
}
