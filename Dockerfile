# Upgrade Desk in a container. Written for the README's "Deployment" section; not built on the
# machines it was developed on (no Docker registry there): treat it as a starting point.
#
#   docker build -t upgrade-desk .
#   docker run -e SECRETS_KEY=$(openssl rand -hex 32) -p 3000:3000 upgrade-desk
#
# The build stage compiles better-sqlite3 and the TypeScript; the runtime stage keeps the
# production dependencies and the compiled code only, and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is a native module: compiled here when no prebuilt binary fits.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Scripts off: `prepare` would build before the sources are copied; the native module is built next.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY entities ./entities
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    SMTP_INTAKE_PORT=2525 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY examples ./examples
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# 3000: web pages, JSON API, /slack/events, /healthz. 2525: the e-mail intake (listens on 127.0.0.1
# unless SMTP_INTAKE_HOST=0.0.0.0).
EXPOSE 3000 2525
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/upgrade-desk.js", "start"]
