# syntax=docker/dockerfile:1
#
# Switchboard: one image for every role (api, worker, scheduler, all); SERVICE_ROLE picks it at run time.
#
#   docker build -t switchboard:local .
#   docker run --rm -e SERVICE_ROLE=api -e DATABASE_URL=... -e REDIS_URL=... \
#     -e INTERNAL_SECRET=... -e ADMIN_TOKEN=... -p 3000:3000 switchboard:local
#
# Stages: deps (all dependencies, for the compiler) → build (tsc → dist/) and, in parallel,
# prod-deps (runtime dependencies only) → runtime (dist + prod node_modules, non-root).

ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# ---- deps: every dependency, dev included (typescript, @types/*) -------------------------------
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci

# ---- build: compile src/ to dist/ ---------------------------------------------------------------
FROM deps AS build
COPY tsconfig*.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: runtime dependencies only ------------------------------------------------------
FROM base AS prod-deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev

# ---- runtime -------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime

# PID 1: tini (Debian's package, no download from elsewhere) runs node as its child. Node as PID 1
# would mostly work, because the app installs SIGTERM/SIGINT handlers, but the kernel gives PID 1 no
# default signal actions: a SIGTERM that arrives before those handlers exist (while modules load or
# config is validated) would be silently ignored and `docker stop` would wait the whole grace period
# before SIGKILL. tini also reaps zombies and forwards SIGTERM/SIGINT to node, whose handler then
# drains requests and in-flight jobs (SHUTDOWN_GRACE_MS). Don't also use `docker run --init` /
# Compose `init: true`: harmless, but redundant.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# NODE_OPTIONS: dist/ ships source maps, so stack traces in logs point at src/*.ts lines.
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps

# Application files stay owned by root (read-only for the app user); only ./data (DATA_DIR, used by
# role `all` for its embedded database and generated secrets) is writable by `node`.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 3000
STOPSIGNAL SIGTERM

# /ready = Redis and the database answer. Every role serves it on PORT (worker and scheduler serve only
# /health, /ready and /metrics). fetch is built into Node; slim images have no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
