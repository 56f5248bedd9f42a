// The cache dashboard: polls GET /cache/hit-rate (with its per-bucket series)
// and GET /cache/stats with an admin token, and draws them with Chart.js.
// The token stays in this page's memory: taken from the form or from the URL
// fragment (#token=…), which browsers never send to the server, then removed
// from the address bar.
;(() => {
  const REFRESH_MS = 5000
  /** Tick spacing of the time axis by window: 6 to 8 ticks, on round times. */
  const TICK_STEP_MS = { '1m': 10_000, '5m': 60_000, '1h': 600_000, '24h': 3 * 3_600_000 }
  const $ = (id) => document.getElementById(id)
  const state = {
    token: '',
    window: '5m',
    timer: undefined,
    rateChart: undefined,
    typeChart: undefined,
    /** The window's hit rate at each refresh (kept in the page): {x: ms, y: %}. */
    observed: [],
  }

  const number = new Intl.NumberFormat('en-US')
  const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' })

  function formatBytes(bytes) {
    if (bytes === null || bytes === undefined) return '–'
    const units = ['B', 'KiB', 'MiB', 'GiB']
    let value = bytes
    let unit = 0
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024
      unit++
    }
    return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
  }

  function setText(id, text) {
    $(id).textContent = text
  }

  function setBadge(id, text, ok) {
    const el = $(id)
    el.textContent = text
    el.classList.toggle('ok', ok === true)
    el.classList.toggle('bad', ok === false)
  }

  async function getJson(path, init = {}) {
    const res = await fetch(new URL(path, window.location.href), {
      ...init,
      headers: {
        authorization: `Bearer ${state.token}`,
        accept: 'application/json',
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
      cache: 'no-store',
    })
    if (res.status === 401) throw new Error('The token was refused (missing, invalid or expired).')
    if (res.status === 403) throw new Error('This token is not an admin’s.')
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
    return res.json()
  }

  function ensureCharts() {
    if (state.rateChart) return
    const common = { responsive: true, maintainAspectRatio: false, animation: false }
    // A linear time axis (ms) needs no date adapter; ticks are formatted here.
    state.rateChart = new window.Chart($('rate-chart'), {
      type: 'line',
      data: {
        datasets: [
          {
            label: 'per time bucket',
            data: [],
            borderColor: '#2463eb',
            backgroundColor: '#2463eb',
            // An idle bucket has no hit rate: a gap, not a line across it (an idle period is not a decline).
            spanGaps: false,
            pointRadius: 4,
            borderWidth: 2,
          },
          {
            label: 'whole window, at each refresh',
            data: [],
            borderColor: '#8e44ad',
            backgroundColor: 'rgba(142, 68, 173, 0.12)',
            fill: 'origin',
            pointRadius: 2,
            borderWidth: 2,
            borderDash: [6, 4],
          },
        ],
      },
      options: {
        ...common,
        parsing: false,
        scales: {
          x: { type: 'linear', ticks: { callback: (v) => time.format(new Date(v)) } },
          y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    })
    state.typeChart = new window.Chart($('type-chart'), {
      type: 'bar',
      data: {
        labels: [],
        datasets: [
          { label: 'answered from cache', data: [], backgroundColor: '#1f8a4c' },
          { label: 'computed', data: [], backgroundColor: '#e67e22' },
        ],
      },
      options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    })
  }

  function render(rate, stats) {
    ensureCharts()
    setText('hit-rate', `${rate.hit_rate.toFixed(2)}%`)
    setText('total', number.format(rate.total_requests))
    setText('window-note', `last ${state.window}`)
    setText('hits', number.format(rate.hits))
    setText('coalesced-note', rate.coalesced > 0 ? `${number.format(rate.coalesced)} coalesced` : '\u00a0')
    setText('misses', number.format(rate.misses))
    setText('stale', number.format(rate.stale))
    setText('not-modified', number.format(rate.not_modified))
    setText('bypass', number.format(rate.bypass))
    setText('keys', stats.keys === null ? '–' : number.format(stats.keys))
    setText('bytes', formatBytes(stats.memory_bytes))
    setBadge('backend', `backend: ${stats.backend}`)
    setBadge('status', `status: ${stats.status}`, stats.status === 'operational')
    setBadge('source', rate.source === 'shared' ? 'all instances' : 'this instance only')
    setText(
      'last-request',
      rate.last_updated ? new Date(rate.last_updated).toLocaleString() : 'none in window',
    )

    const series = rate.series ?? []
    const half = (rate.bucket_seconds * 1000) / 2
    const now = Date.now()
    const from = now - rate.window_seconds * 1000
    state.observed = state.observed.filter((p) => p.x >= from)
    if (rate.total_requests > 0) state.observed.push({ x: now, y: rate.hit_rate })
    // Every bucket, idle ones as null (drawn as gaps).
    state.rateChart.data.datasets[0].data = series.map((p) => ({
      x: Date.parse(p.start) + half,
      y: p.hit_rate,
    }))
    state.rateChart.data.datasets[1].data = state.observed
    // A regular axis: ticks every `step`, on round times, from a bound that is a multiple of it.
    const step = TICK_STEP_MS[state.window] ?? 60_000
    state.rateChart.options.scales.x.min = Math.floor(from / step) * step
    state.rateChart.options.scales.x.max = Math.ceil(now / step) * step
    state.rateChart.options.scales.x.ticks.stepSize = step
    state.rateChart.update('none')

    const types = Object.keys(rate.by_type)
    state.typeChart.data.labels = types
    state.typeChart.data.datasets[0].data = types.map((t) => rate.by_type[t].hits)
    state.typeChart.data.datasets[1].data = types.map((t) => rate.by_type[t].misses)
    state.typeChart.update('none')

    const reportTypes = Object.keys(stats.ttl_map).filter((type) => type !== 'default')
    const rows = [...new Set([...reportTypes, ...Object.keys(stats.by_type)])].sort().map((type) => {
      const tr = document.createElement('tr')
      const size = stats.by_type[type] ?? { keys: 0, bytes: 0 }
      for (const text of [
        type,
        number.format(size.keys),
        formatBytes(size.bytes),
        stats.ttl_map[type] ?? '–',
      ]) {
        const td = document.createElement('td')
        td.textContent = String(text)
        tr.append(td)
      }
      return tr
    })
    // Internal entries are not reports: one labelled row, apart from the report types.
    const internal = stats.internal ?? { keys: 0, bytes: 0, by_kind: {} }
    const tr = document.createElement('tr')
    tr.className = 'internal'
    const kinds = Object.keys(internal.by_kind).sort().join(', ') || 'definition, access'
    for (const text of [
      `internal (${kinds})`,
      number.format(internal.keys),
      formatBytes(internal.bytes),
      '–',
    ]) {
      const td = document.createElement('td')
      td.textContent = text
      tr.append(td)
    }
    rows.push(tr)
    $('size-table').tBodies[0].replaceChildren(...rows)
    const warmType = $('warm-type')
    if (warmType.options.length === 0) {
      for (const type of reportTypes) warmType.append(new Option(type, type))
    }

    setText('updated', time.format(new Date()))
    const points = series.filter((p) => p.hit_rate !== null).length
    document.body.dataset.points = String(points)
    document.body.dataset.observed = String(state.observed.length)
    document.body.dataset.types = String(types.length)
    document.body.dataset.state = 'ready'
  }

  /** Fills a table body with rows of cell texts (textContent only: nothing from the API is parsed as HTML). */
  function fillTable(id, rows, empty) {
    const body = $(id).tBodies[0]
    const trs = rows.map((cells) => {
      const tr = document.createElement('tr')
      for (const text of cells) {
        const td = document.createElement('td')
        td.textContent = String(text)
        tr.append(td)
      }
      return tr
    })
    if (trs.length === 0) {
      const tr = document.createElement('tr')
      const td = document.createElement('td')
      td.colSpan = $(id).tHead.rows[0].cells.length
      td.className = 'none'
      td.textContent = empty
      tr.append(td)
      trs.push(tr)
    }
    body.replaceChildren(...trs)
  }

  const ms = (v) => (v === null ? '–' : v.toFixed(1))
  const pct = (v) => `${v.toFixed(1)}%`

  function renderInsights(insights) {
    fillTable(
      'type-table',
      Object.entries(insights.by_type)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, s]) => [type, number.format(s.requests), pct(s.hit_rate), ms(s.p50_ms), ms(s.p95_ms)]),
      'no report requests yet',
    )
    fillTable(
      'top-table',
      insights.top_reports.map((r) => [
        r.report_id,
        r.type,
        number.format(r.computations),
        ms(r.compute_ms),
        number.format(r.requests),
        pct(r.hit_rate),
      ]),
      'nothing computed yet',
    )
    fillTable(
      'keys-table',
      insights.hottest_keys.map((k) => [k.key, k.type, number.format(k.requests), pct(k.hit_rate)]),
      'no keys read yet',
    )
    fillTable(
      'largest-table',
      insights.largest_keys.map((k) => [k.key, k.type, number.format(k.bytes), number.format(k.requests)]),
      'no bodies served yet',
    )
    fillTable(
      'invalidations-table',
      insights.invalidations.map((i) => [
        time.format(new Date(i.at)),
        i.delivered ? i.reason : `${i.reason} (pending)`,
        i.tags.join(' '),
      ]),
      'no invalidations since this instance started',
    )
    document.body.dataset.topReports = String(insights.top_reports.length)
  }

  async function refresh() {
    clearTimeout(state.timer)
    try {
      const [rate, stats, insights] = await Promise.all([
        getJson(`hit-rate?window=${encodeURIComponent(state.window)}&series=true`),
        getJson('stats'),
        getJson('insights'),
      ])
      render(rate, stats)
      renderInsights(insights)
      setText('message', '')
    } catch (err) {
      document.body.dataset.state = 'error'
      setText('message', err instanceof Error ? err.message : String(err))
    }
    if (state.token) state.timer = setTimeout(refresh, REFRESH_MS)
  }

  function start() {
    state.token = $('token')
      .value.trim()
      .replace(/^Bearer\s+/i, '')
    if ($('window').value !== state.window) state.observed = []
    state.window = $('window').value
    if (!state.token) {
      setText('message', 'Paste an admin token first.')
      return
    }
    document.body.dataset.state = 'loading'
    refresh()
  }

  async function act(what, run) {
    if (!state.token) return
    setText('action-message', `${what}…`)
    try {
      setText('action-message', await run())
      refresh()
    } catch (err) {
      setText('action-message', err instanceof Error ? err.message : String(err))
    }
  }
  $('warm').addEventListener('click', () =>
    act('Warming', async () => {
      const type = $('warm-type').value
      const r = await getJson('warm', { method: 'POST', body: JSON.stringify({ report_type: type }) })
      return `Warmed ${r.cached} of ${r.total} ${type} reports${r.failed ? ` (${r.failed} failed)` : ''}.`
    }),
  )
  $('invalidate').addEventListener('click', () =>
    act('Invalidating', async () => {
      const r = await getJson('../cache', { method: 'DELETE' })
      return `Cache invalidated: ${number.format(r.invalidated_keys)} entries.`
    }),
  )

  $('connect').addEventListener('submit', (event) => {
    event.preventDefault()
    start()
  })
  $('window').addEventListener('change', () => {
    if (state.token) start()
  })

  const fragment = new URLSearchParams(window.location.hash.slice(1))
  const fromFragment = fragment.get('token')
  if (fromFragment) {
    $('token').value = fromFragment
    const chosen = fragment.get('window')
    if (chosen && [...$('window').options].some((o) => o.value === chosen)) $('window').value = chosen
    // Out of the address bar and history: the fragment is the only place a URL holds it.
    window.history.replaceState(null, '', window.location.pathname + window.location.search)
    start()
  }
})()
