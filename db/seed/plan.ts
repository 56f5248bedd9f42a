// The people and classes of a seeded school, decided in memory before any
// insert: users, classes, enrollments, guardians and tutor links, with their
// ids assigned here (explicit ids make admin@demo.test user 1 on an empty
// database and keep the whole data set reproducible).
import type { Role } from '../database.js'
import { FIRST_NAMES, LAST_NAMES, SUBJECTS } from './names.js'
import { clamp, type Random } from './random.js'
import type { SchoolProfile } from './sizes.js'

export interface PlannedUser {
  id: number
  tenant_id: number
  email: string
  name: string
  role: Role
}

/** Per-student habits that shape its submissions. */
export interface StudentTraits {
  /** Typical score %, before assignment difficulty and noise. */
  ability: number
  /** Probability of submitting an assignment at all. */
  diligence: number
  /** Probability that a submission comes after due_at. */
  lateness: number
}

export interface PlannedClass {
  id: number
  tenant_id: number
  name: string
  subject: string
  teacher_id: number
  /** Enrolled student ids, ascending. */
  students: number[]
  /** Share of submissions this class's teacher grades. */
  gradingRate: number
}

export interface PlannedSchool {
  tenantId: number
  users: PlannedUser[]
  classes: PlannedClass[]
  traits: Map<number, StudentTraits>
  guardians: Array<{ parent_id: number; student_id: number }>
  tutorLinks: Array<{ tutor_id: number; student_id: number }>
  adminId: number
  /** teacher@<domain>, student@<domain>, parent@<domain>, tutor@<domain>. */
  named: { teacher: number; student: number; parent: number; tutor: number }
}

/** Next free ids per table, shared by both tenants so ids never collide. */
export interface IdCounters {
  user: number
  class: number
}

const SIBLING_RATE = 0.2
const TWO_GUARDIANS_RATE = 0.4
const TUTORED_RATE = 0.08

export function planSchool(
  profile: SchoolProfile,
  tenantId: number,
  ids: IdCounters,
  random: Random,
): PlannedSchool {
  const teachers = profile.teachers
  const students = profile.grades * profile.studentsPerGrade

  // Families: a student shares the guardians of an earlier student (a sibling)
  // or gets one or two new parents. Student 0 is student@, parent 0 parent@.
  const families: number[][] = []
  let parents = 0
  for (let s = 0; s < students; s++) {
    if (s > 0 && random.chance(SIBLING_RATE)) {
      families.push(families[random.int(0, s - 1)])
    } else {
      const family = [parents++]
      if (s > 0 && random.chance(TWO_GUARDIANS_RATE)) family.push(parents++)
      families.push(family)
    }
  }

  // Ids: the admin first, then the four named users, then everyone else by role.
  const users: PlannedUser[] = []
  const add = (role: Role, email: string): number => {
    const id = ids.user++
    const first = random.pick(FIRST_NAMES)
    const last = random.pick(LAST_NAMES)
    users.push({
      id,
      tenant_id: tenantId,
      email,
      name: role === 'admin' ? 'Admin' : `${first} ${last}`,
      role,
    })
    return id
  }
  const email = (role: Role, n: number) => `${role}${n === 0 ? '' : n + 1}@${profile.domain}`
  const adminId = add('admin', `admin@${profile.domain}`)
  const teacherIds: number[] = [add('teacher', email('teacher', 0))]
  const studentIds: number[] = [add('student', email('student', 0))]
  const parentIds: number[] = [add('parent', email('parent', 0))]
  const tutorIds: number[] = [add('tutor', email('tutor', 0))]
  for (let i = 1; i < teachers; i++) teacherIds.push(add('teacher', email('teacher', i)))
  for (let i = 1; i < profile.tutors; i++) tutorIds.push(add('tutor', email('tutor', i)))
  for (let i = 1; i < students; i++) studentIds.push(add('student', email('student', i)))
  for (let i = 1; i < parents; i++) parentIds.push(add('parent', email('parent', i)))

  const traits = new Map<number, StudentTraits>()
  for (const id of studentIds) {
    traits.set(id, {
      ability: clamp(random.normal(74, 9), 30, 98),
      diligence: clamp(random.normal(0.93, 0.05), 0.6, 1),
      lateness: clamp(random.normal(0.12, 0.07), 0, 0.5),
    })
  }

  // Classes per grade: subject × section ("Mathematics 7B"); teachers round-robin,
  // so teacher@ teaches the first class of the first grade.
  const classes: PlannedClass[] = []
  for (let g = 0; g < profile.grades; g++) {
    for (let c = 0; c < profile.classesPerGrade; c++) {
      const subject = SUBJECTS[c % SUBJECTS.length]
      const section = String.fromCharCode(65 + Math.floor(c / SUBJECTS.length))
      classes.push({
        id: ids.class++,
        tenant_id: tenantId,
        name: `${subject} ${g + 1}${section}`,
        subject,
        teacher_id: teacherIds[classes.length % teacherIds.length],
        students: [],
        gradingRate: clamp(random.normal(0.85, 0.06), 0.65, 0.99),
      })
    }
  }
  // Each student takes distinct classes of its grade; student@ always takes
  // the first one, taught by teacher@.
  for (let s = 0; s < students; s++) {
    const grade = Math.floor(s / profile.studentsPerGrade)
    const picks = random.sample(profile.classesPerGrade, profile.classesPerStudent)
    if (s === 0 && !picks.includes(0)) picks[0] = 0
    for (const c of picks) classes[grade * profile.classesPerGrade + c].students.push(studentIds[s])
  }
  for (const klass of classes) klass.students.sort((a, b) => a - b)

  const guardians = families.flatMap((family, s) =>
    family.map((p) => ({ parent_id: parentIds[p], student_id: studentIds[s] })),
  )
  const tutorLinks = [{ tutor_id: tutorIds[0], student_id: studentIds[0] }]
  for (let s = 1; s < students; s++) {
    if (random.chance(TUTORED_RATE))
      tutorLinks.push({ tutor_id: random.pick(tutorIds), student_id: studentIds[s] })
  }

  return {
    tenantId,
    users,
    classes,
    traits,
    guardians,
    tutorLinks,
    adminId,
    named: { teacher: teacherIds[0], student: studentIds[0], parent: parentIds[0], tutor: tutorIds[0] },
  }
}
