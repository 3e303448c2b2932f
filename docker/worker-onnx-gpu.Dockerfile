# syntax=docker/dockerfile:1
# The ONNX GPU worker (pool `onnx`), built from the repository root:
#   docker build -f docker/worker-onnx-gpu.Dockerfile -t switchyard/worker-onnx-gpu:0.1.0 .
# onnxruntime-node 1.2x+ with CUDA 12 needs cuDNN 9: the CUDA 12 "cudnn-runtime" images carry it.

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY client client
COPY gateway gateway
COPY workers workers
COPY models models
COPY bench bench
RUN npm run build && npm run models:build && npm prune --omit=dev
# npm 11 runs no dependency install scripts unless approved, and .npmrc skips this one: run it
# explicitly, asking for the CUDA 12 execution provider (downloaded now, at build time).
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js

# Node 20 from the official image: one binary plus npm, no NodeSource repository needed.
FROM node:20-bookworm-slim AS node

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 AS worker-onnx-gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
ENV NODE_ENV=production \
    MODEL_REPOSITORY=/app/models \
    WORKER_POOLS=onnx \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/models models
# The CUDA images have no `node` user: make uid 1000 to match the CPU images.
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --no-create-home --shell /usr/sbin/nologin node
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--initial-old-space-size=256", "dist/workers/main.js"]
