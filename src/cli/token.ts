// `token`: mints a bearer token (API.md "Authentication and tenancy") and
// prints it alone on stdout, so `TOKEN=$(npm run -s cli -- token …)` works.
// The secret comes from the same function the server uses, so the two agree.
import { sql } from 'kysely'
import { ROLES, type Role } from '../../db/database.js'
import { resolveJwtSecret } from '../auth/secret.js'
import { mintToken, type TokenClaims } from '../auth/token.js'
import { loadConfig } from '../config.js'
import { type Command, integerOption, parseOptions, stringOption, UsageError } from './command.js'

const MAX_TTL_SECONDS = 366 * 24 * 3600

export const token: Command = {
  usage: [
    'token --user ID --tenant T --role R [--ttl SECONDS]   (no database needed)',
    'token --email E [--ttl SECONDS]                       (looks the user up)',
  ].join('\n'),

  async run(args, io) {
    const values = parseOptions(args, {
      user: { type: 'string' },
      tenant: { type: 'string' },
      role: { type: 'string' },
      email: { type: 'string' },
      ttl: { type: 'string' },
    })
    const ttl = integerOption(values, 'ttl', 1, MAX_TTL_SECONDS)
    const email = stringOption(values, 'email')
    const direct = ['user', 'tenant', 'role'].filter((name) => values[name] !== undefined)
    let claims: TokenClaims | null = null
    if (email !== undefined) {
      if (direct.length > 0)
        throw new UsageError('--email cannot be combined with --user, --tenant or --role')
      if (!email.includes('@'))
        throw new UsageError(`--email must be an email address, got ${JSON.stringify(email)}`)
    } else {
      if (direct.length < 3) throw new UsageError('give --user, --tenant and --role, or --email')
      const role = stringOption(values, 'role') as Role
      if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`)
      claims = {
        sub: integerOption(values, 'user', 1, Number.MAX_SAFE_INTEGER)!,
        tid: integerOption(values, 'tenant', 1, Number.MAX_SAFE_INTEGER)!,
        role,
      }
    }

    const config = loadConfig(io.env)
    if (email !== undefined) {
      // Loaded only here: --user/--tenant/--role must not pay for the database drivers.
      const { withDatabase } = await import('./database.js')
      const user = await withDatabase(config, 'read', (handle) =>
        handle.db
          .selectFrom('users')
          .select(['id', 'tenant_id', 'role'])
          .where(sql<string>`lower(email)`, '=', email.toLowerCase())
          .executeTakeFirst(),
      )
      if (!user) throw new Error(`no user with email ${email}`)
      claims = { sub: user.id, tid: user.tenant_id, role: user.role }
    }
    const secret = resolveJwtSecret(config.jwtSecret, config.dataDir)
    io.stdout.write(`${mintToken(secret, claims!, ttl)}\n`)
  },
}
