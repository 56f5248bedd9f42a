// GET /me: the caller's own user row.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Unauthorized } from '../../src/errors.js'
import { findUser } from '../../src/school/users.js'
import { authErrors, Id, NoQuery, RoleSchema } from './schemas.js'

const MeSchema = Type.Object({
  id: Id,
  tenant_id: Id,
  role: RoleSchema,
  name: Type.String(),
  email: Type.String(),
})

const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get(
    '/me',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: "The caller's user",
        description: 'Answers 401 when the token names a user that no longer exists in its tenant.',
        response: { 200: MeSchema, 401: authErrors[401] },
      },
    },
    async (request) => {
      const { id, tenantId } = request.principal
      const me = await findUser(app.db, tenantId, id)
      // RFC 6750 §3.1: a token for a deleted user is no longer a valid credential.
      if (!me) throw new Unauthorized('The user of this token no longer exists')
      return me
    },
  )
}

export default meRoutes
