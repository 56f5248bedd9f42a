// Guardian and tutor links (admin only): the access changes API.md names
// ("a guardian link deleted") take effect on the very next request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createLink, deleteLink, type LinkKind } from '../../src/school/relationships.js'
import { mutate } from '../mutate.js'
import { Id, NoQuery, readErrors, UrlId, writeErrors } from './schemas.js'

const ROUTES: { kind: LinkKind; path: string; holder: 'parent_id' | 'tutor_id' }[] = [
  { kind: 'guardian', path: '/guardians', holder: 'parent_id' },
  { kind: 'tutor', path: '/tutor-links', holder: 'tutor_id' },
]

const relationshipRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  for (const { kind, path, holder } of ROUTES) {
    const Link = Type.Object({ [holder]: Id, student_id: Id }, { additionalProperties: false })
    const LinkParams = Type.Object({ [holder]: UrlId, student_id: UrlId }, { additionalProperties: false })

    app.post(
      path,
      {
        schema: {
          tags: ['school'],
          summary: `Link a ${kind === 'guardian' ? 'parent' : 'tutor'} to a student (admin)`,
          querystring: NoQuery,
          body: Link,
          response: { 201: Link, ...writeErrors },
        },
      },
      async (request, reply) => {
        const body = request.body as Record<string, number>
        await mutate(reply, `${kind}.create`, (trx) =>
          createLink(trx, request.principal, kind, { holderId: body[holder], studentId: body.student_id }),
        )
        // RFC 9110 §15.3.2: Location names the new link (the URL that deletes it).
        return reply
          .code(201)
          .header('location', `${path}/${body[holder]}/${body.student_id}`)
          .send({ [holder]: body[holder], student_id: body.student_id })
      },
    )

    app.delete(
      `${path}/:${holder}/:student_id`,
      {
        schema: {
          tags: ['school'],
          summary: `Remove a ${kind} link (admin); access ends on the very next request`,
          querystring: NoQuery,
          params: LinkParams,
          response: { 204: Type.Null(), ...readErrors },
        },
      },
      async (request, reply) => {
        const params = request.params as Record<string, number>
        await mutate(reply, `${kind}.delete`, (trx) =>
          deleteLink(trx, request.principal, kind, {
            holderId: params[holder],
            studentId: params.student_id,
          }),
        )
        return reply.code(204).send(null)
      },
    )
  }
}

export default relationshipRoutes
