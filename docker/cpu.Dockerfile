# syntax=docker/dockerfile:1
# The CPU images, built from the repository root:
#   docker build -f docker/cpu.Dockerfile --target gateway    -t switchyard/gateway:0.1.0 .
#   docker build -f docker/cpu.Dockerfile --target worker-cpu -t switchyard/worker-cpu:0.1.0 .
# The gateway image also carries the compiled load-test CLI (dist/bench/loadtest), which the
# chart's load-test Job runs.

# Compiles all of the TypeScript and builds the demo models (models:build needs dist and protobufjs).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# CPU images never download CUDA binaries (onnxruntime-node's CPU build ships in its package).
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# No dependency install scripts: the CPU builds the project needs ship in the packages.
RUN npm ci --ignore-scripts
COPY tsconfig.json switchyard.yaml ./
COPY client client
COPY gateway gateway
COPY workers workers
COPY models models
COPY bench bench
RUN npm run build && npm run models:build && npm prune --omit=dev

# What both CPU images run: production dependencies, the build, the model repository.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    MODEL_REPOSITORY=/app/models
# Owned by root, run as node (uid 1000): the process cannot rewrite its own code or models.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/models models
COPY --from=build /app/switchyard.yaml switchyard.yaml
USER node

FROM runtime AS gateway
# The load-test Job runs `npm run loadtest` here: it reads its scenario files from bench/.
COPY --from=build /app/bench bench
# The gRPC front end loads its service definition from this .proto at run time.
COPY --from=build /app/gateway/grpc/proto gateway/grpc/proto
# Listening beyond loopback needs tenants: mount a policy file and point SWITCHYARD_CONFIG at it.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    GRPC_PORT=8001
EXPOSE 8080 8001
# Slim images have no curl: node's fetch asks the liveness endpoint.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/v2/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--initial-old-space-size=256", "dist/gateway/server.js"]

FROM runtime AS worker-cpu
# The metrics listener also answers GET /ready (warm and consuming); the probe and Prometheus need it off loopback.
ENV METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--initial-old-space-size=256", "dist/workers/main.js"]
