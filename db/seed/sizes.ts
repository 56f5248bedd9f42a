// How big each seed size is. Submissions ≈ enrollments × assignments per
// class × ~0.92 (the mean submission rate), enrollments = students × classes
// per student:
//   small  ≈ 300 students × 4 classes × 6 assignments   ≈ 6.6k submissions
//   medium ≈ 1,200 students × 5 classes × 18 assignments ≈ 100k
//   large  ≈ 3,600 students × 6 classes × 50 assignments ≈ 1M
// Tenant 2 ("Other School") is the same small school at every size.

export type SeedSize = 'small' | 'medium' | 'large'
export const SEED_SIZES: readonly SeedSize[] = ['small', 'medium', 'large']

export interface SchoolProfile {
  name: string
  /** Email domain: admin@<domain>, teacher@<domain>, … */
  domain: string
  grades: number
  classesPerGrade: number
  studentsPerGrade: number
  /** Each student is enrolled in this many distinct classes of its grade. */
  classesPerStudent: number
  assignmentsPerClass: number
  materialsPerClass: number
  teachers: number
  tutors: number
}

const DEMO = { name: 'Demo School', domain: 'demo.test' }

export const PROFILES: Record<SeedSize, SchoolProfile> = {
  small: {
    ...DEMO,
    grades: 6,
    classesPerGrade: 6,
    studentsPerGrade: 50,
    classesPerStudent: 4,
    assignmentsPerClass: 6,
    materialsPerClass: 4,
    teachers: 12,
    tutors: 3,
  },
  medium: {
    ...DEMO,
    grades: 12,
    classesPerGrade: 20,
    studentsPerGrade: 100,
    classesPerStudent: 5,
    assignmentsPerClass: 18,
    materialsPerClass: 6,
    teachers: 60,
    tutors: 10,
  },
  large: {
    ...DEMO,
    grades: 12,
    classesPerGrade: 50,
    studentsPerGrade: 300,
    classesPerStudent: 6,
    assignmentsPerClass: 50,
    materialsPerClass: 10,
    teachers: 150,
    tutors: 30,
  },
}

export const OTHER_SCHOOL: SchoolProfile = {
  name: 'Other School',
  domain: 'other.test',
  grades: 1,
  classesPerGrade: 4,
  studentsPerGrade: 40,
  classesPerStudent: 2,
  assignmentsPerClass: 5,
  materialsPerClass: 2,
  teachers: 3,
  tutors: 1,
}

/** The school year every date falls in (UTC): fixed, so data never depends on today. */
export const YEAR_START_MS = Date.UTC(2025, 8, 1)
export const YEAR_END_MS = Date.UTC(2026, 5, 30, 23, 59, 59)
