// GET /users (admin directory, keyset-paginated) and GET /users/:id.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Forbidden, NotFound } from '../../src/errors.js'
import { UrlInteger } from '../../src/input-schemas.js'
import { Nullable } from '../../src/response-schemas.js'
import { MAX_ID } from '../../src/school/common.js'
import { canSeeUser, findUser, listUsers, userDetail } from '../../src/school/users.js'
import { ErrorSchema, Id, IdParams, NoQuery, RoleSchema, readErrors, UnauthorizedSchema } from './schemas.js'

const DEFAULT_PAGE_SIZE = 50
const MAX_PAGE_SIZE = 200

const UsersQuery = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    limit: Type.Optional(
      UrlInteger(
        { minimum: 1, maximum: MAX_PAGE_SIZE },
        { description: `1 to ${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}` },
      ),
    ),
    cursor: Type.Optional(
      Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'next_cursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
)

const UserSummarySchema = Type.Object({ id: Id, name: Type.String(), email: Type.String(), role: RoleSchema })

const UserPageSchema = Type.Object({
  items: Type.Array(UserSummarySchema),
  next_cursor: Nullable(Type.String()),
})

const UserDetailSchema = Type.Object({
  id: Id,
  name: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  classes: Type.Array(Id, { description: 'Classes taught (teacher) or enrolled in (student)' }),
  children: Type.Array(Id, { description: "A parent's children" }),
  tutees: Type.Array(Id, { description: "A tutor's tutees" }),
})

const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get(
    '/users',
    {
      schema: {
        tags: ['school'],
        summary: 'Users of the tenant (admin only), ordered by id',
        description: `Keyset pagination: pass next_cursor back as cursor; it is null on the last page. limit defaults to ${DEFAULT_PAGE_SIZE}.`,
        querystring: UsersQuery,
        response: { 200: UserPageSchema, 400: ErrorSchema, 401: UnauthorizedSchema, 403: ErrorSchema },
      },
    },
    async (request) => {
      const { principal } = request
      if (principal.role !== 'admin') throw new Forbidden('Only admins may list users')
      const { role, limit = DEFAULT_PAGE_SIZE, cursor } = request.query
      // No id exceeds MAX_ID, so a larger cursor is simply past the end.
      const after = cursor === undefined ? undefined : Math.min(Number(cursor), MAX_ID)
      return listUsers(app.db, principal.tenantId, { role, limit, after })
    },
  )

  app.get(
    '/users/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'One user and its links (classes, children, tutees)',
        description:
          'Visible to admins, the user itself, and a teacher, tutor or parent who sees the user as a student.',
        params: IdParams,
        response: { 200: UserDetailSchema, ...readErrors },
      },
    },
    async (request) => {
      const { id } = request.params
      const user = await findUser(app.db, request.principal.tenantId, id)
      if (!user) throw new NotFound(`User ${id}`)
      if (!canSeeUser(await request.viewer(), id)) throw new Forbidden('You may not see this user')
      return userDetail(app.db, user)
    },
  )
}

export default userRoutes
