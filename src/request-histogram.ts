// A Prometheus histogram whose observation is O(1) with no hashing: each label
// set gets its own bucket array once (a child), and the registry reads the
// tallies only when scraped. prom-client's own histogram validates and hashes
// the labels on every observe, children included: too much for every request.
import type { Registry } from 'prom-client'

interface Sample {
  labels: Record<string, string | number>
  value: number
  metricName: string
}

export class HistogramChild {
  readonly counts: number[]
  sum = 0
  count = 0
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array(bounds.length).fill(0)
  }

  observe(value: number): void {
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.counts[i]++
        break
      }
    }
    this.sum += value
    this.count++
  }
}

export class RequestHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #children: HistogramChild[] = []

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never)
  }

  /** A new label set's tallies (the caller keeps it: one per label set). */
  child(labels: Readonly<Record<string, string>>): HistogramChild {
    const child = new HistogramChild(labels, this.bounds)
    this.#children.push(child)
    return child
  }

  /** What the registry renders (cumulative buckets, +Inf, sum, count), as prom-client's histograms give it. */
  async get(): Promise<{
    name: string
    help: string
    type: 'histogram'
    values: Sample[]
    aggregator: 'sum'
  }> {
    const values: Sample[] = []
    for (const c of this.#children) {
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += c.counts[i]
        values.push({
          labels: { ...c.labels, le: this.bounds[i] },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        })
      }
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: `${this.name}_bucket` })
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` })
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' }
  }

  reset(): void {
    for (const c of this.#children) {
      c.counts.fill(0)
      c.sum = 0
      c.count = 0
    }
  }
}
