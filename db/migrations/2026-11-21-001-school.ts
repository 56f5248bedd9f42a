// The school data model. Every table carries tenant_id so that every query
// can be scoped to one tenant with an index prefix.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('users')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql`role in ('admin', 'teacher', 'tutor', 'student', 'parent')`),
    )
    .execute()
  await db.schema
    .createIndex('users_tenant_role_idx')
    .on('users')
    .columns(['tenant_id', 'role', 'id'])
    .execute()

  await db.schema
    .createTable('classes')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('teacher_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .execute()
  await db.schema.createIndex('classes_tenant_idx').on('classes').columns(['tenant_id', 'id']).execute()
  await db.schema.createIndex('classes_teacher_idx').on('classes').column('teacher_id').execute()

  await db.schema
    .createTable('enrollments')
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('class_id', 'integer', (c) => c.notNull().references('classes.id').onDelete('cascade'))
    .addColumn('student_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('enrollments_pk', ['class_id', 'student_id'])
    .execute()
  await db.schema
    .createIndex('enrollments_student_idx')
    .on('enrollments')
    .columns(['student_id', 'class_id'])
    .execute()

  await db.schema
    .createTable('guardians')
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('parent_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('student_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('guardians_pk', ['parent_id', 'student_id'])
    .execute()
  await db.schema.createIndex('guardians_student_idx').on('guardians').column('student_id').execute()

  await db.schema
    .createTable('tutor_links')
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('tutor_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('student_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('tutor_links_pk', ['tutor_id', 'student_id'])
    .execute()
  await db.schema.createIndex('tutor_links_student_idx').on('tutor_links').column('student_id').execute()

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('class_id', 'integer', (c) => c.notNull().references('classes.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('max_score', 'numeric(10, 2)', (c) => c.notNull().check(sql`max_score > 0`))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('assignments_class_idx').on('assignments').columns(['class_id', 'id']).execute()
  await db.schema
    .createIndex('assignments_tenant_idx')
    .on('assignments')
    .columns(['tenant_id', 'id'])
    .execute()

  await db.schema
    .createTable('submissions')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('assignment_id', 'integer', (c) =>
      c.notNull().references('assignments.id').onDelete('cascade'),
    )
    .addColumn('student_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('score', 'numeric(10, 2)', (c) => c.check(sql`score >= 0`))
    .addColumn('graded_at', 'timestamptz')
    .addUniqueConstraint('submissions_assignment_student_key', ['assignment_id', 'student_id'])
    .execute()
  await db.schema
    .createIndex('submissions_student_idx')
    .on('submissions')
    .columns(['student_id', 'assignment_id'])
    .execute()
  await db.schema
    .createIndex('submissions_tenant_time_idx')
    .on('submissions')
    .columns(['tenant_id', 'submitted_at'])
    .execute()

  await db.schema
    .createTable('materials')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('class_id', 'integer', (c) => c.notNull().references('classes.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('materials_class_idx').on('materials').columns(['class_id', 'id']).execute()

  await db.schema
    .createTable('material_progress')
    .addColumn('tenant_id', 'integer', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('material_id', 'integer', (c) => c.notNull().references('materials.id').onDelete('cascade'))
    .addColumn('student_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('percent', 'numeric(5, 2)', (c) => c.notNull().check(sql`percent between 0 and 100`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('material_progress_pk', ['student_id', 'material_id'])
    .execute()
  await db.schema
    .createIndex('material_progress_material_idx')
    .on('material_progress')
    .column('material_id')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'material_progress',
    'materials',
    'submissions',
    'assignments',
    'tutor_links',
    'guardians',
    'enrollments',
    'classes',
    'users',
    'tenants',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
