# The Leonidas server (with the web app) for a container platform such as ECS Fargate.
# Build and push: see README ("Deploy it"); cloud settings come from the environment.

# Every stage runs on the platform the task runs on, whatever machine builds the image: pnpm installs the
# native modules (argon2, DuckDB) for the architecture it runs on. The default matches infra/terraform's
# cpu_architecture (X86_64; infra/check.ts compares them). For Graviton: --build-arg PLATFORM=linux/arm64 and
# cpu_architecture = "ARM64". Building for another architecture than the builder's needs QEMU (Docker Desktop
# has it; on Linux, binfmt via tonistiigi/binfmt).
ARG PLATFORM=linux/amd64

FROM --platform=${PLATFORM} node:24-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter @leonidas/server --filter @leonidas/web run build \
 # The bundled server and its native runtime packages only (its package.json's dependencies): no DynamoDB
 # Local (embedded mode, needs Java), no TypeScript or build tools. About 95 MB.
 && pnpm --filter @leonidas/server deploy --prod /out/apps/server \
 && cp -r apps/web/dist /out/apps/web-dist

FROM --platform=${PLATFORM} node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/tmp/leonidas \
    WEB_DIST_DIR=/app/apps/web/dist \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=build --chown=node:node /out/apps/server apps/server
COPY --from=build --chown=node:node /out/apps/web-dist apps/web/dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "--enable-source-maps", "apps/server/dist/main.js"]
