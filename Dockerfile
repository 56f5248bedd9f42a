# syntax=docker/dockerfile:1
# The report service, compiled: `docker build -t report-service .`
# Runs `node dist/src/server.js` as the unprivileged `node` user. Without
# DATABASE_URL it falls back to the embedded PGlite in /app/.data (mount a
# volume there to keep it); docker-compose.yml wires Postgres and Redis.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dev dependencies are needed to compile (typescript); pruned below, so the
# image carries production dependencies only (no tsx, esbuild, tap, pino-pretty).
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
# `npm run build` cleans dist/ first: Kysely must never see stale migration files.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The cache dashboard page (GET /cache/dashboard); chart.js comes from node_modules.
COPY --from=build /app/public ./public
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# 200 while reports can be served (API.md /health); Node 20 has fetch built in.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, no npm: node is PID 1 and gets SIGTERM itself (graceful shutdown
# in server.ts, passed on to the service thread). The same command as `npm run start:prod`.
CMD ["node", "dist/src/server.js"]
