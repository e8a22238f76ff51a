# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev toolchain. better-sqlite3 (statistics) is a native addon:
# when its prebuilt download is not reachable it compiles its bundled SQLite with node-gyp, which needs
# python3, make and g++.
FROM node:24-alpine AS build
# Native addons (libopus through @discordjs/opus) build from their bundled sources here.
RUN apk add --no-cache python3 make g++
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY app.ts server.ts ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY bench ./bench
COPY web ./web
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: the production dependencies as built above (the addon included, so no compiler here),
# the compiled output, and a data folder for the SQLite statistics, as a non-root user.
FROM node:24-alpine
ENV NODE_ENV=production PORT=5000 HOST=0.0.0.0 STATS_DB=/app/data/stats.db
WORKDIR /app
COPY package.json package-lock.json ./
# The production dependencies as built above (native addons included): no compiler in this image.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
# Statistics survive a new container only on a volume (or use DATABASE_URL for PostgreSQL).
VOLUME ["/app/data"]
# Where recordings go when RECORDINGS_DIR points here; owned by the app's user, so a volume mounted on it is too.
RUN mkdir -p /var/lib/music-share/recordings && chown node:node /var/lib/music-share/recordings
USER node
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${PORT}/health" || exit 1
# BEARER_TOKEN must be provided at run time (docker run -e BEARER_TOKEN=...): production refuses to start without it.
CMD ["node", "dist/server.js"]
