// A private redis-server for tests that stop, pause or restart Redis: its own
// free port, no automatic persistence (snapshot() saves on demand), controlled
// only through its pid (never by name).
// The shared Redis on 6379 is never touched here.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** A port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}

/**
 * `count` distinct ports nothing listens on right now: all held open together,
 * so the OS cannot hand the same port out twice (as calls of freePort() made
 * before anything binds may).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer())
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))))
  const ports = servers.map((s) => {
    const address = s.address()
    if (address === null || typeof address === 'string') throw new Error('no free port')
    return address.port
  })
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

/** True when a Redis on `port` answers PING. */
export async function pingRedis(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: 500,
    commandTimeout: 500,
    maxRetriesPerRequest: 0,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

export class RedisServer {
  #child: ChildProcess | undefined
  #paused = false
  readonly #dir: string

  constructor(
    readonly port: number,
    /** More redis-server arguments (e.g. `--replicaof 127.0.0.1 P`). */
    readonly extraArgs: readonly string[] = [],
  ) {
    this.#dir = mkdtempSync(join(tmpdir(), 'report-cache-redis-'))
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** The running server's pid (undefined while stopped). */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  get running(): boolean {
    return this.#child !== undefined
  }

  /** Starts redis-server on the port (empty, or with the last snapshot()) and waits until PING answers. */
  async start(): Promise<void> {
    if (this.#child) throw new Error('redis-server already running')
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    )
    this.#child = child
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined
    })
    await waitFor(() => pingRedis(this.port), `redis-server on port ${this.port}`)
  }

  /** Kills the server by pid (a crash: its data is gone) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child
    if (!child || child.pid === undefined) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // SIGKILL also ends a stopped (SIGSTOP) process.
    process.kill(child.pid, 'SIGKILL')
    this.#paused = false
    await exited
    this.#child = undefined
  }

  /**
   * Writes an RDB snapshot now (SAVE): the next start() loads it, as a Redis
   * with persistence would come back with the data it had before a crash.
   */
  async snapshot(): Promise<void> {
    const client = new Redis({ port: this.port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    try {
      await client.save()
    } finally {
      client.disconnect()
    }
  }

  /** Freezes the process (SIGSTOP): connections stay open, commands hang, data survives. */
  pause(): void {
    const pid = this.#child?.pid
    if (pid === undefined) throw new Error('redis-server is not running')
    process.kill(pid, 'SIGSTOP')
    this.#paused = true
  }

  /** Resumes a paused process (SIGCONT) with its data intact. */
  resume(): void {
    const pid = this.#child?.pid
    if (pid === undefined) throw new Error('redis-server is not running')
    process.kill(pid, 'SIGCONT')
    this.#paused = false
  }

  get paused(): boolean {
    return this.#paused
  }

  async dispose(): Promise<void> {
    await this.stop()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/**
 * A private redis-server on a free port (started unless `start: false`, to
 * test an app that starts while Redis is down), stopped by pid in teardown.
 */
export async function startRedisServer(
  t: Teardown,
  options: { port?: number; start?: boolean; args?: readonly string[] } = {},
): Promise<RedisServer> {
  const server = new RedisServer(options.port ?? (await freePort()), options.args)
  t.teardown(() => server.dispose())
  if (options.start !== false) await server.start()
  return server
}
