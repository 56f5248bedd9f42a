// GET /cache/dashboard in headless Chromium: the page takes an admin token from
// the URL fragment (never sent to the server) or the form, polls the admin API,
// and draws the hit rate over time and the requests by type with the bundled
// Chart.js. A screenshot goes into the test's folder (TAP_SAVE_FIXTURE=1 keeps it).
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { bearer, buildTestApp, tokenFor } from './helpers/app.js'
import { launchChromium } from './helpers/chromium.js'
import { createTestDatabase } from './helpers/database.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

/** Opaque pixels of a canvas close to an RGB colour: a series was drawn, not just the axes. Runs in the page. */
function countColour(canvas: Element, [r, g, b]: number[]): number {
  const c = canvas as HTMLCanvasElement
  const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height)
  let n = 0
  for (let i = 0; i < data.length; i += 4) {
    const near =
      Math.abs(data[i] - r) < 12 && Math.abs(data[i + 1] - g) < 12 && Math.abs(data[i + 2] - b) < 12
    if (data[i + 3] > 200 && near) n++
  }
  return n
}

interface ChartGlobal {
  getChart(id: string): {
    scales: { x: { ticks: Array<{ value: number }> } }
    data: { datasets: Array<{ spanGaps?: boolean; data: Array<{ y: number | null }> }> }
  }
}

/** Nothing wider than the viewport: no horizontal scrolling of the page. */
async function noOverflow(t: Test, page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }))
  t.ok(scroll <= width, `no horizontal overflow (${scroll} px of content in ${width} px)`)
}

t.test('cache dashboard in Chromium', async (t) => {
  const handle = await createTestDatabase(t)
  const w = await buildWorld(handle.db)
  const a1 = await addAssignment(handle.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(handle.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  await addSubmission(handle.db, w.tenant1, a1, w.s2.id, '2024-03-11T00:00:00Z', 6)
  const app = await buildTestApp(t, handle)
  const urls: string[] = []
  app.server.on('request', (req: { url?: string }) => urls.push(req.url ?? ''))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  // Traffic: analytics MISS, HIT, 304; custom MISS, HIT: 3 of 5 answered without computing.
  const A = await createReport(app, w.admin, 'analytics', {})
  const C = await createReport(app, w.admin, 'custom', { metric: 'avg_score', group_by: 'class' })
  const first = await getReport(app, w.admin, A)
  t.equal(first.headers['x-cache'], 'MISS')
  t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'HIT')
  const revalidated = await app.inject({
    method: 'GET',
    url: `/reports/${A}`,
    headers: { ...bearer(w.admin), 'if-none-match': first.headers.etag as string },
  })
  t.equal(revalidated.statusCode, 304)
  t.equal((await getReport(app, w.admin, C)).headers['x-cache'], 'MISS')
  t.equal((await getReport(app, w.admin, C)).headers['x-cache'], 'HIT')

  const context = await launchChromium(t, { viewport: { width: 1280, height: 900 } })
  const problems: string[] = []
  context.on('weberror', (e) => problems.push(`page error: ${e.error().message}`))
  context.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })

  t.test('with an admin token in the fragment', async (t) => {
    const token = tokenFor(w.admin)
    const page = await context.newPage()
    await page.goto(`${base}/cache/dashboard#token=${token}&window=1m`)
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 })

    t.equal(await page.textContent('#hit-rate'), '60.00%', 'hit rate figure')
    t.equal(await page.textContent('#total'), '5')
    t.equal(await page.textContent('#hits'), '2')
    t.equal(await page.textContent('#misses'), '2')
    t.equal(await page.textContent('#not-modified'), '1')
    t.equal(await page.textContent('#backend'), 'backend: memory')
    t.equal(await page.textContent('#status'), 'status: operational')
    t.match(await page.textContent('#size-table tbody'), /analytics/, 'cache size by type')
    t.ok(Number(await page.getAttribute('body', 'data-points')) >= 1, 'the line has points')
    t.equal(await page.getAttribute('body', 'data-types'), '2', 'bars for two types')

    const bucketPoints = await page.$eval('#rate-chart', countColour, [36, 99, 235])
    t.ok(bucketPoints > 20, `the hit rate of the bucket is drawn (${bucketPoints} px)`)
    const greenBars = await page.$eval('#type-chart', countColour, [31, 138, 76])
    const orangeBars = await page.$eval('#type-chart', countColour, [230, 126, 34])
    t.ok(
      greenBars > 100 && orangeBars > 100,
      `answered and computed bars drawn (${greenBars}, ${orangeBars} px)`,
    )

    t.notMatch(page.url(), /token/, 'the token left the address bar')
    t.notOk(
      urls.some((u) => u.includes(token)),
      'the token never appears in a URL the server saw',
    )
    t.ok(
      urls.some((u) => u.startsWith('/cache/hit-rate?window=1m&series=true')),
      'the page polls the hit rate',
    )
    t.ok(urls.includes('/cache/dashboard/chart.umd.min.js'), 'chart.js is served by the app')

    // It refreshes by itself: another HIT shows up within a few seconds (4 of 6).
    t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'HIT')
    await page.waitForFunction(() => document.getElementById('hit-rate')?.textContent === '66.67%', null, {
      timeout: 20_000,
    })
    t.equal(await page.textContent('#total'), '6')
    t.equal(await page.getAttribute('body', 'data-observed'), '2', 'two refreshes observed')
    const windowLine = await page.$eval('#rate-chart', countColour, [142, 68, 173])
    t.ok(windowLine > 20, `the line of the window's hit rate over time is drawn (${windowLine} px)`)

    // Gaps stay gaps, and the time axis is regular (equal steps on round times).
    const axis = await page.evaluate(() => {
      const chart = (window as unknown as { Chart: ChartGlobal }).Chart.getChart('rate-chart')
      const ticks = chart.scales.x.ticks.map((tick) => tick.value)
      const dataset = chart.data.datasets[0]
      return { ticks, spanGaps: dataset.spanGaps, nulls: dataset.data.filter((p) => p.y === null).length }
    })
    t.equal(axis.spanGaps, false, 'no line across idle buckets')
    t.ok(axis.nulls > 0, `idle buckets are null points (${axis.nulls}), drawn as gaps`)
    const steps = new Set(axis.ticks.slice(1).map((v, i) => v - axis.ticks[i]))
    t.same([...steps], [10_000], `ticks every 10 s for the 1m window (${axis.ticks.length} ticks)`)
    t.equal(axis.ticks[0] % 10_000, 0, 'on round times')

    // Report types only; internal entries in one labelled row.
    const rows = await page.$$eval('#size-table tbody tr', (trs) =>
      trs.map((tr) => tr.children[0].textContent),
    )
    t.same(
      rows,
      ['analytics', 'custom', 'grade_distribution', 'student_progress', 'internal (access, definition)'],
      'report types, then the internal entries labelled',
    )
    await noOverflow(t, page)

    // Per type: hit rate and computation time; the costliest reports each with its hit rate.
    const typeRows = await page.$$eval('#type-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    )
    t.same(
      typeRows.map((r) => r.slice(0, 3)),
      [
        ['analytics', '4', '75.0%'],
        ['custom', '2', '50.0%'],
      ],
      'hit rate by type (304 counts as answered)',
    )
    t.ok(
      typeRows.every((r) => /^\d+\.\d$/.test(r[3] ?? '') && /^\d+\.\d$/.test(r[4] ?? '')),
      'p50 and p95 shown',
    )
    const top = await page.$$eval('#top-table tbody tr', (trs) => trs.map((tr) => tr.children[0].textContent))
    t.same(top.sort(), [String(A), String(C)].sort(), 'the computed reports, each on its own row')
    t.match(await page.textContent('#keys-table tbody'), /report:/, 'hottest keys by name')
    t.match(await page.textContent('#largest-table tbody'), /report:/, 'largest keys by name')
    t.match(
      await page.textContent('#invalidations-table tbody'),
      /report\.create/,
      'the definitions just created are the recent invalidations',
    )

    // Kept in the test's own temp folder (tap removes it unless the test fails).
    const screenshot = join(t.testdir(), 'dashboard.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    const png = readFileSync(screenshot)
    t.ok(png.subarray(1, 4).toString() === 'PNG' && png.length > 20_000, `screenshot ${screenshot}`)

    await page.close()
  })

  t.test('warm and invalidate buttons', async (t) => {
    const page = await context.newPage()
    await page.goto(`${base}/cache/dashboard#token=${tokenFor(w.admin)}&window=1m`)
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 })
    await page.click('#invalidate')
    await page.waitForFunction(() =>
      /invalidated/.test(document.getElementById('action-message')?.textContent ?? ''),
    )
    t.match(await page.textContent('#action-message'), /^Cache invalidated: \d+ entries\.$/)
    t.equal((await getReport(app, w.admin, C)).headers['x-cache'], 'MISS', 'the cache was invalidated')
    await page.selectOption('#warm-type', 'analytics')
    await page.click('#warm')
    await page.waitForFunction(() =>
      /Warmed/.test(document.getElementById('action-message')?.textContent ?? ''),
    )
    t.equal(await page.textContent('#action-message'), 'Warmed 1 of 1 analytics reports.')
    t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'HIT', 'warmed: a HIT next')
    await page.waitForFunction(() =>
      /admin\.tenant/.test(document.getElementById('invalidations-table')?.textContent ?? ''),
    )
    t.match(
      await page.textContent('#invalidations-table tbody'),
      /admin\.tenant\s*\*/,
      'the invalidation is listed: when, reason, tags',
    )
    await page.close()
  })

  t.test('at 420 px, and the empty state', async (t) => {
    const narrow = await launchChromium(t, { viewport: { width: 420, height: 900 } })
    narrow.on('weberror', (e) => problems.push(`page error: ${e.error().message}`))
    narrow.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    const empty = await narrow.newPage()
    await empty.goto(`${base}/cache/dashboard`)
    t.ok(await empty.isVisible('#empty'), 'without a token: how to get one')
    t.match(await empty.textContent('#empty'), /npm run -s cli -- token --email admin@demo\.test/)
    t.notOk(await empty.isVisible('main'), 'no empty boxes')
    await noOverflow(t, empty)
    await empty.screenshot({ path: join(t.testdir(), 'dashboard-empty-420.png'), fullPage: true })

    const page = await narrow.newPage()
    await page.goto(`${base}/cache/dashboard#token=${tokenFor(w.admin)}&window=1m`)
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 })
    t.notOk(await page.isVisible('#empty'))
    const bucketPoints = await page.$eval('#rate-chart', countColour, [36, 99, 235])
    t.ok(bucketPoints > 20, `hit rate drawn at 420 px (${bucketPoints} px)`)
    const bars = await page.$eval('#type-chart', countColour, [31, 138, 76])
    t.ok(bars > 50, `bars drawn at 420 px (${bars} px)`)
    await noOverflow(t, page)
    const screenshot = join(t.testdir(), 'dashboard-420.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    t.ok(readFileSync(screenshot).length > 10_000, `screenshot ${screenshot}`)
  })

  t.test('a refused token, and a teacher token pasted into the form', async (t) => {
    const page = await context.newPage()
    await page.goto(`${base}/cache/dashboard#token=not-a-jwt`)
    await page.waitForSelector('body[data-state="error"]')
    t.match(await page.textContent('#message'), /refused/)
    await page.fill('#token', tokenFor(w.teacherA))
    await page.click('button[type="submit"]')
    await page.waitForFunction(() => /admin/.test(document.getElementById('message')?.textContent ?? ''))
    t.match(await page.textContent('#message'), /not an admin/)
    t.equal(await page.textContent('#hit-rate'), '–', 'no figures shown')
    await page.close()
  })

  t.test('no page errors', async (t) => {
    // 401/403 responses above are logged by Chromium as failed loads; nothing else may be.
    t.same(
      problems.filter((p) => !/status of 40[13]/.test(p)),
      [],
      'no script errors or CSP violations',
    )
  })
})
