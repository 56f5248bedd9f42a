// Creates candidate report definitions on a running service (POST /reports),
// measures each one's body size (GET /reports/:id, the first GET is a MISS),
// and picks, for each target size, the candidate whose body is nearest to it
// (by ratio). Prints the candidate table on stderr and the picks as JSON on
// stdout: [{target, id, type, title, params, bytes, miss_ms}].
//
//   BASE=http://127.0.0.1:PORT TOKEN=... node prepare.mjs 2048 51200
const base = process.env.BASE
const token = process.env.TOKEN
if (!base || !token) throw new Error('prepare.mjs: BASE and TOKEN are required')
const targets = process.argv.slice(2).map(Number)
if (targets.length === 0 || targets.some((t) => !(t > 0)))
  throw new Error('prepare.mjs: give target sizes in bytes')
const headers = { authorization: `Bearer ${token}` }

async function getJson(path) {
  const res = await fetch(`${base}${path}`, { headers })
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
  return res.json()
}

async function create(type, title, params) {
  const res = await fetch(`${base}/reports`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ type, title, params }),
  })
  const text = await res.text()
  if (res.status !== 201) throw new Error(`POST /reports ${JSON.stringify(params)}: ${res.status} ${text}`)
  return JSON.parse(text).id
}

async function measure(id) {
  const started = performance.now()
  const res = await fetch(`${base}/reports/${id}`, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  const ms = performance.now() - started
  if (res.status !== 200) throw new Error(`GET /reports/${id}: ${res.status} ${body}`)
  return { bytes: body.length, ms, xcache: res.headers.get('x-cache') }
}

// Ids to narrow the custom reports with: the first class and the first student.
const classes = (await getJson('/classes')).items
const students = (await getJson('/users?role=student&limit=1')).items
const classId = classes[0].id
const studentId = students[0].id

const candidates = [
  ['analytics', 'bench: whole school analytics', {}],
  ['analytics', `bench: analytics of class ${classId}`, { class_ids: [classId] }],
  ['student_progress', `bench: progress of student ${studentId}`, { student_id: studentId }],
  ['custom', 'bench: avg score by class', { metric: 'avg_score', group_by: 'class' }],
  ['custom', 'bench: avg score by week', { metric: 'avg_score', group_by: 'week' }],
  ['custom', 'bench: avg score by student', { metric: 'avg_score', group_by: 'student' }],
  ['custom', 'bench: avg score by assignment', { metric: 'avg_score', group_by: 'assignment' }],
  [
    'custom',
    `bench: avg score by assignment, class ${classId}`,
    { metric: 'avg_score', group_by: 'assignment', where: { class_id: classId } },
  ],
  [
    'custom',
    `bench: avg score by student, class ${classId}`,
    { metric: 'avg_score', group_by: 'student', where: { class_id: classId } },
  ],
  [
    'custom',
    `bench: avg score by assignment, student ${studentId}`,
    { metric: 'avg_score', group_by: 'assignment', where: { student_id: studentId } },
  ],
]

const measured = []
for (const [type, title, params] of candidates) {
  const id = await create(type, title, params)
  const m = await measure(id)
  measured.push({ id, type, title, params, bytes: m.bytes, miss_ms: Math.round(m.ms), xcache: m.xcache })
}

const picks = []
for (const target of targets) {
  const free = measured.filter((c) => !picks.some((p) => p.id === c.id))
  free.sort((a, b) => Math.abs(Math.log(a.bytes / target)) - Math.abs(Math.log(b.bytes / target)))
  picks.push({ target, ...free[0] })
}

process.stderr.write('candidate report definitions (first GET = MISS):\n')
for (const c of measured) {
  const picked = picks.find((p) => p.id === c.id)
  process.stderr.write(
    `  ${picked ? `* ${String(picked.target).padStart(6)}` : '        '}  id ${String(c.id).padStart(3)}  ${String(c.bytes).padStart(8)} B  ${String(c.miss_ms).padStart(6)} ms  ${c.xcache}  ${c.type} ${JSON.stringify(c.params)}\n`,
  )
}
for (const p of picks) {
  const ratio = p.bytes / p.target
  if (ratio < 0.75 || ratio > 1.33) {
    process.stderr.write(
      `  WARNING: no candidate near ${p.target} B on this dataset; nearest is id ${p.id} at ${p.bytes} B (${ratio.toFixed(2)}x)\n`,
    )
  }
}
process.stdout.write(`${JSON.stringify(picks)}\n`)
