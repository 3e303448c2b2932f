# syntax=docker/dockerfile:1
# The TF GPU worker (pool `tf`), built from the repository root:
#   docker build -f docker/worker-tf-gpu.Dockerfile -t switchyard/worker-tf-gpu:0.1.0 .
# @tensorflow/tfjs-node-gpu 4.x links libtensorflow 2.9, built for CUDA 11.2 and cuDNN 8.1:
# it needs this older base, hence an image of its own (the ONNX pool needs CUDA 12).

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
# tfjs-node-gpu's install script (not run by npm ci above) downloads libtensorflow (GPU) and
# its prebuilt addon: run it explicitly, as its package.json `install` script would.
RUN cd node_modules/@tensorflow/tfjs-node-gpu && node scripts/install.js gpu download

FROM node:20-bookworm-slim AS node

FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS worker-tf-gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
ENV NODE_ENV=production \
    MODEL_REPOSITORY=/app/models \
    WORKER_POOLS=tf \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/models models
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --no-create-home --shell /usr/sbin/nologin node
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--initial-old-space-size=256", "dist/workers/main.js"]
