# One image for both roles of kitsu-actions:
#   receiver (default):  docker run -p 127.0.0.1:8080:8080 -e HOST=0.0.0.0 -e REDIS_URL=redis://redis:6379 kitsu-actions
#                        (HOST=0.0.0.0: inside the container; without it AUTH_MODE=none binds 127.0.0.1 there,
#                        which the published port cannot reach. -p decides who reaches it from outside.)
#   worker:              docker run --no-healthcheck -e REDIS_URL=redis://redis:6379 kitsu-actions \
#                          node --enable-source-maps worker/dist/main.js
#   the CLI:             docker run --rm ... kitsu-actions node receiver/dist/kitsu-actions.js register --dry-run
# The build stage type-checks, bundles each app into JavaScript (scripts/build.ts) and deploys it with its
# production dependencies only; the runtime stage holds nothing else (no sources, no dev tools, no tsx).
# scripts/dockerfile.test.ts and scripts/image.test.ts check both stages without a Docker engine.

# ---------------------------------------------------------------------------------------------------
# build: install every dependency from the lockfile, type-check the sources, then build and deploy the apps.
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
# apps/*/dist/*.js, then /prod/receiver and /prod/worker: each app's package.json, dist/ and a node_modules
# of its production dependencies (`pnpm deploy --prod`, offline from the store the install above filled).
RUN pnpm build --deploy /prod

# ---------------------------------------------------------------------------------------------------
# runtime: the two deployments and the shipped catalogue (used when no ACTIONS_FILE is given), owned by
# root and read-only for the unprivileged `node` user that runs them.
FROM node:24-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/actions.example.yaml ./
COPY --from=build /prod/receiver ./receiver
COPY --from=build /prod/worker ./worker

USER node
EXPOSE 8080

# Receiver readiness (HTTP up and Redis answering). Node's fetch, since slim images have no curl.
# The worker serves no HTTP: run it with --no-healthcheck (docker-compose.yml disables it there).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD node -e "fetch('http://127.0.0.1:${PORT:-8080}/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# Receiver by default; the worker service overrides the command. --enable-source-maps: stack traces name
# the TypeScript sources and lines (the bundles' source maps), not positions in dist/*.js.
CMD ["node", "--enable-source-maps", "receiver/dist/main.js"]
