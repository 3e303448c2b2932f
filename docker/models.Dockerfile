# syntax=docker/dockerfile:1
# A model repository as an image, for the mount alternative: an init container copies
# /models into a volume that the gateway and workers read (MODEL_REPOSITORY).
#   docker build -f docker/models.Dockerfile -t switchyard/models:0.1.0 .
# The models are built the same way as in the serving images (the demo MLP and its int8 version).

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
RUN npm run build && npm run models:build

# busybox: `cp` for the init container, nothing else.
FROM busybox:1.37
COPY --from=build /app/models /models
USER 1000
CMD ["cp", "-r", "/models/.", "/repository/"]
