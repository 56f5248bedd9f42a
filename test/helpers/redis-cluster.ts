// A private Redis Cluster for tests: `size` redis-server processes in cluster
// mode on free ports (masters and one replica each), joined with
// `redis-cli --cluster create`, stopped by pid in teardown. The shared Redis
// on 6379 is never touched.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePorts } from './redis-server.js'

const run = promisify(execFile)

interface Teardown {
  teardown(fn: () => unknown): void
}

interface Node {
  port: number
  child: ChildProcess
  exited: Promise<void>
}

async function waitFor(check: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** INFO `section` of one node, or `CLUSTER INFO` for section 'cluster' (INFO's cluster section has no state). */
async function info(port: number, section: string): Promise<string> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return section === 'cluster' ? String(await client.cluster('INFO')) : await client.info(section)
  } finally {
    client.disconnect()
  }
}

export class RedisCluster {
  readonly #nodes = new Map<number, Node>()
  readonly #dir = mkdtempSync(join(tmpdir(), 'report-cache-cluster-'))

  /** Node timeout: how long a master must be unreachable before its replica takes over. */
  constructor(readonly nodeTimeoutMs = 1000) {}

  get ports(): number[] {
    return [...this.#nodes.keys()]
  }

  /** Startup nodes for REDIS_CLUSTER_NODES / createRedisCluster. */
  get startupNodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }))
  }

  /** Starts and joins the nodes; on failure stops what it started (a top-level throw skips teardown). */
  async start(size: number): Promise<void> {
    try {
      await this.#start(size)
    } catch (err) {
      await this.dispose()
      throw err
    }
  }

  async #start(size: number): Promise<void> {
    // The cluster bus would default to port + 10000, which may be taken or above 65535.
    const ports = await freePorts(2 * size)
    for (let i = 0; i < size; i++) {
      const port = ports[2 * i]
      const busPort = ports[2 * i + 1]
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(this.nodeTimeoutMs),
          // A replica may always take over (the test kills masters whose replica just synced).
          '--cluster-replica-validity-factor',
          '0',
          // Only the failed master's slots stop answering (README: Redis settings).
          '--cluster-require-full-coverage',
          'no',
          '--save',
          '',
          '--appendonly',
          'no',
          '--maxmemory-policy',
          'volatile-lru',
          '--dir',
          this.#dir,
        ],
        { stdio: 'ignore' },
      )
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      this.#nodes.set(port, { port, child, exited })
    }
    for (const port of this.ports)
      await waitFor(async () => (await info(port, 'server')).includes('redis_version'), `node ${port}`)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...this.ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ])
    await this.waitUntilHealthy()
  }

  /** Every live node sees cluster_state:ok and every replica's link to its master is up. */
  async waitUntilHealthy(deadlineMs = 20_000): Promise<void> {
    for (const port of this.ports) {
      await waitFor(
        async () => (await info(port, 'cluster')).includes('cluster_state:ok'),
        `cluster ok on ${port}`,
        deadlineMs,
      )
      await waitFor(
        async () => {
          const replication = await info(port, 'replication')
          return replication.includes('role:master') || replication.includes('master_link_status:up')
        },
        `replication on ${port}`,
        deadlineMs,
      )
    }
  }

  /** The port of the master that serves `key`'s slot now (asked of any live node). */
  async masterOf(key: string): Promise<number> {
    for (const port of this.ports) {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
      client.on('error', () => {})
      try {
        await client.connect()
        const slot = Number(await client.cluster('KEYSLOT', key))
        const ranges = await client.cluster('SLOTS')
        const range = ranges.find(([from, to]) => slot >= from && slot <= to)
        const master = range?.[2]
        if (master) return master[1]
      } catch {
        // A dead node: ask the next one.
      } finally {
        client.disconnect()
      }
    }
    throw new Error(`no live node knows the master of ${key}`)
  }

  /** SIGKILL of one node, by the pid this helper started. */
  async kill(port: number): Promise<void> {
    const node = this.#nodes.get(port)
    if (!node || node.child.pid === undefined) throw new Error(`no node on ${port}`)
    node.child.kill('SIGKILL')
    await node.exited
    this.#nodes.delete(port)
  }

  async dispose(): Promise<void> {
    for (const node of this.#nodes.values()) {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL')
      await node.exited
    }
    this.#nodes.clear()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** A private cluster of `size` nodes (half masters, one replica each), disposed in teardown. */
export async function startRedisCluster(t: Teardown, size = 6, nodeTimeoutMs = 1000): Promise<RedisCluster> {
  const cluster = new RedisCluster(nodeTimeoutMs)
  t.teardown(() => cluster.dispose())
  await cluster.start(size)
  return cluster
}
