# syntax=docker/dockerfile:1
# The origin for MI250 nodes (MOTIF_ENGINE=vllm): the ROCm vLLM image named by the engine recipe
# (infra/engines/vllm/), with Node and the origin added; the origin starts and supervises one
# `vllm serve` inside the container. The base has no default on purpose: which image carries
# Motif support and gfx90a kernels is the recipe's decision, not this file's. From the root:
#   docker build -f infra/appliance/images/origin-vllm.Dockerfile \
#     --build-arg VLLM_BASE_IMAGE=<image@digest from infra/engines/vllm/> -t motif-origin-vllm:0.1.0 .
ARG VLLM_BASE_IMAGE
FROM node:24.21.0-trixie-slim AS node

FROM ${VLLM_BASE_IMAGE}
# Node's official binaries need glibc >= 2.28, which every ROCm base image has. The headers let
# npm compile better-sqlite3 and the CPU kernels against this image's own libraries.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/include/node /usr/local/include/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version
WORKDIR /opt/motif-edge
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY origin/native-kernels ./origin/native-kernels
# The vLLM engine does not use the CPU kernels.
RUN MOTIF_SKIP_NATIVE_KERNELS=1 npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY shared ./shared
COPY origin ./origin
COPY scripts ./scripts
COPY edge/src/adapters/node/entry-point.ts ./edge/src/adapters/node/entry-point.ts
# The launch recipe (flags, environment) the origin reads at start (MOTIF_VLLM_RECIPE).
COPY infra/engines/vllm ./infra/engines/vllm
# The recipe's base ships vLLM 0.10.1; Motif's model code is in 0.10.2 (the recipe's `version`) and
# in Motif Technologies' fork. VLLM_PIP_SPEC names a ROCm (gfx90a) build of either, as pip takes it
# (a wheel URL on the site's mirror, or a file under the build context); the PyPI wheel is built
# for CUDA and must not be used. Empty = keep the base image's vLLM.
ARG VLLM_PIP_SPEC=
RUN if [ -n "$VLLM_PIP_SPEC" ]; then pip install --no-cache-dir --no-deps "$VLLM_PIP_SPEC"; fi && vllm --help >/dev/null
# ROCm images run as root: /dev/kfd and /dev/dri belong to the host's video and render groups,
# whose ids differ between hosts (the compose file adds them with group_add).
RUN mkdir -p /var/lib/motif/origin /var/lib/motif/weights
ENV NODE_ENV=production MOTIF_ENGINE=vllm MOTIF_ORIGIN_HOST=0.0.0.0 MOTIF_ORIGIN_PORT=4681 \
  MOTIF_ORIGIN_DATA_DIR=/var/lib/motif/origin MOTIF_WEIGHTS_STORE=/var/lib/motif/weights
EXPOSE 4681
VOLUME ["/var/lib/motif"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4681/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains the replica, then stops its vLLM.
STOPSIGNAL SIGTERM
ENTRYPOINT []
CMD ["node", "--import", "tsx", "origin/src/main.ts"]
