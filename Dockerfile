# One image for both roles of kitsu-actions:
#   receiver (default):  docker run -p 127.0.0.1:8080:8080 -e HOST=0.0.0.0 -e REDIS_URL=redis://redis:6379 kitsu-actions
#                        (HOST=0.0.0.0: inside the container; without it AUTH_MODE=none binds 127.0.0.1 there,
#                        which the published port cannot reach. -p decides who reaches it from outside.)
#   worker:              docker run --no-healthcheck -e REDIS_URL=redis://redis:6379 kitsu-actions \
#                          node --import tsx apps/worker/src/main.ts
# The apps run their TypeScript sources through tsx (a runtime dependency of both apps); there is no
# separate compile step, the build stage only type-checks.

# ---------------------------------------------------------------------------------------------------
# build: install every dependency from the lockfile, then type-check the sources.
FROM node:24-bookworm-slim AS build

# pnpm 10; the exact version of package.json's "packageManager", so pnpm does not fetch another one.
ARG PNPM_VERSION=10.34.9
RUN npm i -g "pnpm@${PNPM_VERSION}"

WORKDIR /app

# Manifests first: this layer and the install below stay cached until a manifest or the lockfile changes.
# Every workspace package must be listed here, or `--frozen-lockfile` fails (the lockfile names them all).
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY apps/receiver/package.json apps/receiver/
COPY apps/worker/package.json apps/worker/
COPY packages/shared/package.json packages/shared/
COPY packages/testing/package.json packages/testing/
COPY packages/zou/package.json packages/zou/
RUN pnpm install --frozen-lockfile

# Sources (see .dockerignore), then the same type check as CI.
COPY . .
RUN pnpm typecheck

# ---------------------------------------------------------------------------------------------------
# runtime: the installed tree as-is (`--import tsx` resolves tsx from /app/node_modules), owned by root
# and read-only for the unprivileged `node` user that runs it.
FROM node:24-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app

USER node
EXPOSE 8080

# Receiver readiness (HTTP up and Redis answering). Node's fetch, since slim images have no curl.
# The worker serves no HTTP: run it with --no-healthcheck (docker-compose.yml disables it there).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD node -e "fetch('http://127.0.0.1:${PORT:-8080}/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# Receiver by default; the worker service overrides the command.
CMD ["node", "--import", "tsx", "apps/receiver/src/main.ts"]
