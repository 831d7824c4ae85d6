# syntax=docker/dockerfile:1
# The edge on Node (the appliance's and the on-prem Kubernetes gateway). From the repository root:
#   docker build -f infra/appliance/images/edge.Dockerfile -t motif-edge:0.1.0 .
# Base images are pinned to exact tags; add @sha256 digests when mirroring them into a private
# registry. Node 24 is the current LTS the images run on.
FROM node:24.21.0-trixie AS build
WORKDIR /opt/motif-edge
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY origin/native-kernels ./origin/native-kernels
# The install script builds the origin's CPU kernels; the edge does not use them.
RUN MOTIF_SKIP_NATIVE_KERNELS=1 npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY shared ./shared
COPY edge ./edge
# scripts/: the admin CLI (npm run admin) and the operator tools (npm run ops:*).
COPY scripts ./scripts
COPY origin/src ./origin/src

FROM node:24.21.0-trixie-slim
# A fixed uid, so volumes keep their owner across image upgrades.
RUN groupadd --system --gid 10001 motif \
  && useradd --system --uid 10001 --gid motif --home-dir /var/lib/motif --shell /usr/sbin/nologin motif \
  && install -d -o motif -g motif /var/lib/motif /var/lib/motif/edge
COPY --from=build /opt/motif-edge /opt/motif-edge
WORKDIR /opt/motif-edge
ENV NODE_ENV=production MOTIF_EDGE_HOST=0.0.0.0 MOTIF_EDGE_PORT=4680 MOTIF_EDGE_DATA_DIR=/var/lib/motif/edge
USER motif
EXPOSE 4680
VOLUME ["/var/lib/motif"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4680/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: in-flight streams get their grace period and the ledger closes cleanly.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "edge/src/node.ts"]
