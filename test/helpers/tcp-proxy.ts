// A TCP proxy the test can cut: while cut, every open connection is destroyed
// and new ones are closed at once (a partition between one instance and Redis).
import { createConnection, createServer, type Server, type Socket } from 'node:net'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TcpProxy {
  port: number
  url: string
  cut(): void
  heal(): void
  /** Sends new connections to another server and drops the open ones (a failover behind one address). */
  retarget(next: { host: string; port: number }): void
}

export async function startTcpProxy(t: Teardown, target: { host: string; port: number }): Promise<TcpProxy> {
  let isCut = false
  let current = target
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    if (isCut) {
      client.destroy()
      return
    }
    const upstream = createConnection(current)
    sockets.add(client)
    sockets.add(upstream)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return {
    port: address.port,
    url: `redis://127.0.0.1:${address.port}`,
    cut() {
      isCut = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    heal() {
      isCut = false
    },
    retarget(next) {
      current = next
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
  }
}
