# syntax=docker/dockerfile:1
# The origin with the native CPU engine (MOTIF_ENGINE=native): nodes without a GPU, and the
# self-contained bundle for systemd installs (infra/appliance/README.md). From the repository root:
#   docker build -f infra/appliance/images/origin.Dockerfile -t motif-origin:0.1.0 .
# Base images are pinned to exact tags; add @sha256 digests when mirroring them.
FROM node:24.21.0-trixie AS build
WORKDIR /opt/motif-edge
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY origin/native-kernels ./origin/native-kernels
# The install script compiles the C++ SIMD kernels here (the full image has g++); --strict fails
# the build rather than shipping the ~26x slower portable kernels by accident.
RUN npm ci --omit=dev && node origin/native-kernels/build.mjs --strict && npm cache clean --force
COPY tsconfig.json ./
COPY shared ./shared
COPY origin ./origin
COPY scripts ./scripts
# The edge too: this image's /opt/motif-edge is also the systemd bundle (bundle.sh).
COPY edge ./edge

FROM node:24.21.0-trixie-slim
RUN groupadd --system --gid 10001 motif \
  && useradd --system --uid 10001 --gid motif --home-dir /var/lib/motif --shell /usr/sbin/nologin motif \
  && install -d -o motif -g motif /var/lib/motif /var/lib/motif/origin /var/lib/motif/weights
COPY --from=build /opt/motif-edge /opt/motif-edge
WORKDIR /opt/motif-edge
ENV NODE_ENV=production MOTIF_ENGINE=native MOTIF_ORIGIN_HOST=0.0.0.0 MOTIF_ORIGIN_PORT=4681 \
  MOTIF_ORIGIN_DATA_DIR=/var/lib/motif/origin MOTIF_WEIGHTS_STORE=/var/lib/motif/weights
USER motif
EXPOSE 4681
VOLUME ["/var/lib/motif"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4681/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: running generations finish (MOTIF_DRAIN_TIMEOUT_MS), usage is flushed.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "origin/src/main.ts"]
