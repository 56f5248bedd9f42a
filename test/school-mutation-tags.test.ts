// The mutation → tags table, spelled out: a review of what each change
// advances (the route tests check the same tags reach app.invalidate).
import t from 'tap'
import { accessTag } from '../src/access/viewer.js'
import { tag } from '../src/reports/tags.js'
import { mutationTags } from '../src/school/mutation-tags.js'

const ids = { tenantId: 1, classId: 3, assignmentId: 42, studentId: 7 }

t.same(mutationTags.submission(ids), ['student:7', 'class-work:3', 'assignment:42', 'school-work:1'])
t.same(mutationTags.materialProgress(ids), ['student:7', 'class-progress:3', 'school-progress:1'])
t.same(mutationTags.enrollment(ids), ['student:7', 'roster:3', 'enrolled:7', 'school-roster:1'])
t.same(mutationTags.assignmentCreate(ids), ['class:3', 'school-structure:1'])
t.same(mutationTags.assignmentChange(ids), [
  'assignment:42',
  'class:3',
  'class-work:3',
  'school-structure:1',
  'school-work:1',
])
t.same(mutationTags.assignmentRetitle(ids), ['assignment:42', 'class:3', 'school-structure:1'])

t.equal(tag.roster(3), accessTag.roster(3), "one roster tag for the class's data and its teacher's access")

// The tenant-wide tag of each kind of data a mutation changes.
const tenantWide: Record<keyof typeof mutationTags, string[]> = {
  submission: ['school-work:1'],
  materialProgress: ['school-progress:1'],
  enrollment: ['school-roster:1'],
  assignmentCreate: ['school-structure:1'],
  assignmentChange: ['school-structure:1', 'school-work:1'],
  assignmentRetitle: ['school-structure:1'],
}

t.test(
  'every mutation advances the tenant-wide tags of its kinds of data and only its own entities',
  async (t) => {
    const other = { tenantId: 2, classId: 4, assignmentId: 43, studentId: 8 }
    for (const [name, fn] of Object.entries(mutationTags)) {
      const tags = fn(ids)
      t.same(
        tags.filter((x) => x.startsWith('school-')),
        tenantWide[name as keyof typeof mutationTags],
        `${name}: its tenant-wide tags`,
      )
      t.notOk(tags.includes('school:1'), `${name}: no catch-all tenant tag`)
      t.equal(new Set(tags).size, tags.length, `${name} has no duplicates`)
      const mine = new Set(tags)
      t.notOk(
        fn(other).some((tag) => mine.has(tag)),
        `${name}: a change elsewhere shares no tag`,
      )
    }
  },
)
