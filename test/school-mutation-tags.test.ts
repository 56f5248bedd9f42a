// The mutation → tags table, spelled out: a review of what each change
// advances (the route tests check the same tags reach app.invalidate).
import t from 'tap'
import { mutationTags } from '../src/school/mutation-tags.js'

const ids = { tenantId: 1, classId: 3, assignmentId: 42, studentId: 7 }

t.same(mutationTags.submission(ids), ['student:7', 'class-work:3', 'assignment:42', 'school:1'])
t.same(mutationTags.materialProgress(ids), ['student:7', 'class-progress:3', 'school:1'])
t.same(mutationTags.enrollment(ids), ['student:7', 'class:3', 'school:1', 'roster:3', 'enrolled:7'])
t.same(mutationTags.assignmentCreate(ids), ['class:3', 'school:1'])
t.same(mutationTags.assignmentChange(ids), ['assignment:42', 'class:3', 'class-work:3', 'school:1'])

t.test('every mutation advances the tenant-wide school tag and only its own entities', async (t) => {
  const other = { tenantId: 2, classId: 4, assignmentId: 43, studentId: 8 }
  for (const [name, fn] of Object.entries(mutationTags)) {
    const tags = fn(ids)
    t.ok(tags.includes('school:1'), `${name} touches school:1`)
    t.equal(new Set(tags).size, tags.length, `${name} has no duplicates`)
    const mine = new Set(tags)
    t.notOk(
      fn(other).some((tag) => mine.has(tag)),
      `${name}: a change elsewhere shares no tag`,
    )
  }
})
