// Starts the service in a thread of its own, so that its heap gets the
// settings that keep garbage-collection pauses short under writes (measured:
// README, "Production start"). A heap is configured when its isolate is
// created, and `node src/server.ts` leaves the main one at Node's defaults;
// a worker's is set here. This thread loads nothing of the service: it passes
// signals on and exits with the service thread's code.
import { setFlagsFromString } from 'node:v8'
import { Worker } from 'node:worker_threads'
import { lowerBackgroundThreads } from './background-threads.js'
import { backgroundThreadNice, ConfigError, youngGenerationMb } from './config-values.js'
import type { FatalMessage, ShutdownMessage } from './service-thread.js'

/** How long a graceful close may take before the process exits anyway. */
const CLOSE_DELAY_MS = 10_000

function start(): void {
  let youngMb: number
  let helperNice: number
  try {
    youngMb = youngGenerationMb()
    helperNice = backgroundThreadNice()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  }
  // V8's memory reducer starts up to three compacting collections when the
  // allocation rate falls (meant for idle browser tabs): 5–37 ms pauses each
  // at a service's steady trickle of requests. It is decided when a heap is
  // created, so this applies to the service thread's heap.
  setFlagsFromString('--no-memory-reducer')
  // V8's helper threads exist already; the service thread, created next by
  // this one, keeps this thread's priority.
  lowerBackgroundThreads(helperNice)

  // Under tsx (`node --import tsx src/server.ts`), a thread needs the loader
  // registered for itself (Node 20 runs --import hooks for the main thread only).
  const underTsx = import.meta.url.endsWith('.ts')
  const entry = new URL(underTsx ? './service-thread.ts' : './service-thread.js', import.meta.url)
  const source = underTsx
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
    : `import(${JSON.stringify(entry.href)})`
  const thread = new Worker(source, {
    eval: true,
    workerData: { stdoutIsTTY: process.stdout.isTTY === true },
    resourceLimits: { maxYoungGenerationSizeMb: youngMb },
  })

  let signalled = false
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      // A second signal: stop now, as an operator pressing Ctrl-C twice expects.
      if (signalled) process.exit(1)
      signalled = true
      thread.postMessage({ type: 'shutdown', signal } satisfies ShutdownMessage)
      setTimeout(() => process.exit(1), CLOSE_DELAY_MS).unref()
    })
  }
  thread.on('message', (message: FatalMessage) => {
    if (message.type === 'fatal') process.stderr.write(`${message.message}\n`)
  })
  thread.on('error', (err) => {
    process.stderr.write(`Service thread failed: ${err.message}\n`)
    process.exitCode = 1
  })
  thread.on('exit', (code) => process.exit(process.exitCode || code))
}

start()
