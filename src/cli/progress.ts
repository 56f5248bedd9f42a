// Progress of long CLI work: a redrawn bar when stderr is a terminal, plain
// lines otherwise (logs and CI must not fill with carriage returns).

export type ProgressFn = (done: number, total: number, label: string) => void

const REDRAW_MS = 100
const BAR_WIDTH = 28
/** Phases at least this long also get a plain line at every 10%. */
const LONG_PHASE = 50_000

interface Stream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

export function createProgress(stream: Stream, now: () => number = Date.now): ProgressFn {
  let label = ''
  // A phase runs from the end of the previous one: small tables report only once, when done.
  let started = now()
  let lastDraw = 0
  let lastTenth = -1
  let open = false
  let complete = false

  return (done, total, phase) => {
    const t = now()
    if (phase !== label) {
      if (open) stream.write('\n')
      open = false
      label = phase
      lastDraw = 0
      lastTenth = -1
      complete = false
    }
    if (complete) return
    const finished = done >= total
    complete = finished
    const seconds = ((t - started) / 1000).toFixed(1)
    if (finished) started = t
    const ratio = total > 0 ? Math.min(done / total, 1) : 1
    const counts = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`
    if (stream.isTTY) {
      if (!finished && t - lastDraw < REDRAW_MS) return
      lastDraw = t
      const filled = Math.round(ratio * BAR_WIDTH)
      const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`
      const pct = `${Math.floor(ratio * 100)}`.padStart(3)
      stream.write(`\r\x1b[2K${phase.padEnd(18)} [${bar}] ${pct}% ${counts} ${seconds}s`)
      open = !finished
      if (finished) stream.write('\n')
      return
    }
    const tenth = Math.floor(ratio * 10)
    if (finished && total <= 1) {
      stream.write(`${phase}: done ${seconds}s\n`)
    } else if (finished || (total >= LONG_PHASE && tenth > lastTenth && tenth > 0)) {
      lastTenth = tenth
      stream.write(`${phase}: ${counts} (${Math.floor(ratio * 100)}%) ${seconds}s\n`)
    }
  }
}
