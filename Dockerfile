# syntax=docker/dockerfile:1
# The chat server's image: built with dev dependencies, run with production ones only.
#   docker build -t graphql-chat-server .
#   docker run -e JWT_SECRET=... -e REDIS_URL=redis://... -p 4000:4000 graphql-chat-server
# docker-compose.yml runs three of these behind nginx on one Redis.

# --- build: TypeScript -> dist/ (dev dependencies live only in this stage)
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json schema.graphql ./
COPY src ./src
# no source maps: the sources are not in the runtime image
RUN npm run build -- --sourceMap false
# the web chat page (served at /), built with Vite from web/ and the typed client
COPY client ./client
COPY web ./web
RUN npm run web:build

# --- production dependencies only (no lifecycle scripts run)
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: node, production node_modules, dist/ and the printed schema; no npm, no sources
FROM node:24-slim AS runtime
# the package managers are not needed to run the server
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production \
    PORT=4000
WORKDIR /app
# package.json carries "type": "module", which dist/*.js needs
COPY --chown=root:root package.json schema.graphql ./
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/web/dist ./web/dist
# files stay root-owned and read-only to the process
USER node
EXPOSE 4000
# liveness: /health answers 200 while the process runs (slim has no curl; node's fetch does it)
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains: /ready 503, sockets closed with 1001, in-flight requests finished, exit 0
# within SHUTDOWN_TIMEOUT (10 s by default; Docker's own stop timeout is 10 s too: compose raises it)
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
