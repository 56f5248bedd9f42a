// The school year's work: assignments and materials per class, then the
// submissions and material progress of the enrolled students. Submissions and
// progress are produced row by row (a million of them must not sit in memory).
import { ASSIGNMENT_KINDS, MATERIAL_KINDS, MAX_SCORES } from './names.js'
import type { PlannedClass, StudentTraits } from './plan.js'
import { clamp, type Random } from './random.js'
import { YEAR_END_MS, YEAR_START_MS } from './sizes.js'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** First due date a week into the year, last a few days before it ends. */
const FIRST_DUE_MS = YEAR_START_MS + 7 * DAY_MS + 23 * HOUR_MS
const LAST_DUE_MS = YEAR_END_MS - 5 * DAY_MS

export interface PlannedAssignment {
  id: number
  tenant_id: number
  class_id: number
  title: string
  max_score: number
  due_ms: number
  created_ms: number
  /** Added to each student's ability for this assignment (score % points). */
  difficulty: number
}

export interface PlannedMaterial {
  id: number
  tenant_id: number
  class_id: number
  title: string
  released_ms: number
}

export interface SubmissionRow {
  tenant_id: number
  assignment_id: number
  student_id: number
  submitted_ms: number
  score: number | null
  graded_ms: number | null
}

export interface ProgressRow {
  tenant_id: number
  material_id: number
  student_id: number
  percent: number
  updated_ms: number
}

/** Evenly spread over the school year with a few days of jitter, on the hour. */
function spreadDate(index: number, count: number, random: Random): number {
  const span = LAST_DUE_MS - FIRST_DUE_MS
  const base = FIRST_DUE_MS + Math.floor(((index + 0.5) * span) / count)
  const jittered = base + random.int(-2, 2) * DAY_MS
  return clamp(Math.floor(jittered / HOUR_MS) * HOUR_MS, FIRST_DUE_MS, LAST_DUE_MS)
}

export function planAssignments(
  klass: PlannedClass,
  count: number,
  nextId: () => number,
  random: Random,
): PlannedAssignment[] {
  return Array.from({ length: count }, (_, j) => {
    const due_ms = spreadDate(j, count, random)
    return {
      id: nextId(),
      tenant_id: klass.tenant_id,
      class_id: klass.id,
      title: `${random.pick(ASSIGNMENT_KINDS)} ${j + 1}`,
      max_score: random.pick(MAX_SCORES),
      due_ms,
      created_ms: due_ms - random.int(5, 14) * DAY_MS,
      difficulty: random.normal(0, 6),
    }
  })
}

export function planMaterials(
  klass: PlannedClass,
  count: number,
  nextId: () => number,
  random: Random,
): PlannedMaterial[] {
  return Array.from({ length: count }, (_, m) => ({
    id: nextId(),
    tenant_id: klass.tenant_id,
    class_id: klass.id,
    title: `${random.pick(MATERIAL_KINDS)}: ${klass.subject} unit ${m + 1}`,
    released_ms: spreadDate(m, count, random) - 7 * DAY_MS,
  }))
}

/**
 * Most students submit most assignments, some late; about 85% of submissions
 * are graded; score % clusters around the student's ability (≈ 74 ± 9) plus
 * the assignment's difficulty and per-submission noise.
 */
export function* submissionsFor(
  assignment: PlannedAssignment,
  klass: PlannedClass,
  traits: Map<number, StudentTraits>,
  random: Random,
): Generator<SubmissionRow> {
  for (const studentId of klass.students) {
    const student = traits.get(studentId)!
    if (!random.chance(student.diligence)) continue
    const late = random.chance(student.lateness)
    const submitted_ms = late
      ? assignment.due_ms + Math.round((random.uniform(0.25, 96) * HOUR_MS) / 1000) * 1000
      : assignment.due_ms - Math.round((random.uniform(0, 120) * HOUR_MS) / 1000) * 1000
    let score: number | null = null
    let graded_ms: number | null = null
    if (random.chance(klass.gradingRate)) {
      const pct = clamp(student.ability + assignment.difficulty + random.normal(0, 9), 0, 100)
      // Half points: scores like 17.5 / 20.
      score = Math.round((pct / 100) * assignment.max_score * 2) / 2
      graded_ms = submitted_ms + Math.round(random.uniform(6, 240)) * HOUR_MS
    }
    yield {
      tenant_id: assignment.tenant_id,
      assignment_id: assignment.id,
      student_id: studentId,
      submitted_ms,
      score,
      graded_ms,
    }
  }
}

/** About 60% of (student, material) pairs have progress; about 45% of those are complete. */
export function* progressFor(
  material: PlannedMaterial,
  klass: PlannedClass,
  random: Random,
): Generator<ProgressRow> {
  for (const studentId of klass.students) {
    if (!random.chance(0.6)) continue
    const percent = random.chance(0.45) ? 100 : random.int(5, 95)
    const updated_ms = Math.min(material.released_ms + random.int(0, 30 * 24) * HOUR_MS, YEAR_END_MS)
    yield {
      tenant_id: material.tenant_id,
      material_id: material.id,
      student_id: studentId,
      percent,
      updated_ms,
    }
  }
}
