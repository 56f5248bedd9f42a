// A student's progress on one material: one row per (student, material), upserted.
import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import type { Principal } from '../access/viewer.js'
import { Forbidden, InvalidBody } from '../errors.js'
import { mayManageClass, toIso } from './common.js'
import { isEnrolled, requireStudent } from './users.js'

export interface MaterialProgressInput {
  material_id: number
  student_id: number
  percent: number
}

export interface MaterialProgress extends MaterialProgressInput {
  updated_at: string
}

/**
 * Who: the student itself, the teacher of the material's class, an admin.
 * Like submissions, the student must be enrolled in the material's class.
 */
export async function putMaterialProgress(
  trx: Db,
  principal: Principal,
  input: MaterialProgressInput,
): Promise<MaterialProgress> {
  const { role } = principal
  if (role !== 'admin' && role !== 'teacher' && role !== 'student') {
    throw new Forbidden('Only students, their teachers and admins may record material progress')
  }
  if (role === 'student' && input.student_id !== principal.id) {
    throw new Forbidden('Students may only record their own progress')
  }
  const material = await trx
    .selectFrom('materials as m')
    .innerJoin('classes as c', 'c.id', 'm.class_id')
    .select(['m.id', 'm.class_id', 'c.teacher_id'])
    .where('m.id', '=', input.material_id)
    .where('m.tenant_id', '=', principal.tenantId)
    .executeTakeFirst()
  if (!material) throw new InvalidBody('body.material_id does not exist')
  if (role === 'teacher' && !mayManageClass(principal, material)) {
    throw new Forbidden("Teachers may only record progress on their own classes' materials")
  }
  await requireStudent(trx, principal.tenantId, input.student_id)
  if (!(await isEnrolled(trx, material.class_id, input.student_id))) {
    throw new InvalidBody("body.student_id is not enrolled in the material's class")
  }
  const row = await trx
    .insertInto('material_progress')
    .values({
      tenant_id: principal.tenantId,
      material_id: material.id,
      student_id: input.student_id,
      percent: input.percent,
      updated_at: sql<Date>`now()`,
    })
    .onConflict((oc) =>
      oc.columns(['student_id', 'material_id']).doUpdateSet({
        percent: (eb) => eb.ref('excluded.percent'),
        updated_at: (eb) => eb.ref('excluded.updated_at'),
      }),
    )
    .returning(['material_id', 'student_id', sql<number>`percent::float8`.as('percent'), 'updated_at'])
    .executeTakeFirstOrThrow()
  return {
    material_id: row.material_id,
    student_id: row.student_id,
    percent: Number(row.percent),
    updated_at: toIso(row.updated_at),
  }
}
