#!/usr/bin/env bash
# Build everything an air-gapped node needs, on a machine with Docker and network access:
#   infra/appliance/bundle.sh <version> [<vLLM base image from infra/engines/vllm/>]
# Writes to dist/motif-<version>/:
#   images.tar.gz        the container images (docker load -i), for the compose install
#   motif-edge.tar.gz    /opt/motif-edge for the systemd install: the app, its built node_modules
#                        and bin/node, taken from the origin image (needs glibc >= the image's)
#   infra/               the compose file, env examples and units
# The weights travel separately: `npm run weights -- export --rev <rev> <file.tar>`.
set -euo pipefail
version=${1:?usage: bundle.sh <version> [<vllm base image>]}
vllm_base=${2:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/dist/motif-$version"
mkdir -p "$out"
cd "$root"

minio=$(sed -n 's/^ *image: \(minio\/minio:[^ ]*\)$/\1/p' infra/appliance/compose.yaml)
images=("motif-edge:$version" "motif-origin:$version" "$minio")
docker build -f infra/appliance/images/edge.Dockerfile -t "motif-edge:$version" .
docker build -f infra/appliance/images/origin.Dockerfile -t "motif-origin:$version" .
if [ -n "$vllm_base" ]; then
  docker build -f infra/appliance/images/origin-vllm.Dockerfile --build-arg "VLLM_BASE_IMAGE=$vllm_base" -t "motif-origin-vllm:$version" .
  images+=("motif-origin-vllm:$version")
fi
docker pull "$minio"
docker save "${images[@]}" | gzip > "$out/images.tar.gz"

# The systemd bundle: the origin image holds the whole app (edge, origin, scripts) with
# node_modules compiled for it, and the node binary that runs it.
id=$(docker create "motif-origin:$version")
trap 'docker rm -f "$id" >/dev/null' EXIT
stage=$(mktemp -d)
docker cp "$id:/opt/motif-edge" "$stage/motif-edge"
docker cp "$id:/usr/local/bin/node" "$stage/node"
mkdir -p "$stage/motif-edge/bin"
mv "$stage/node" "$stage/motif-edge/bin/node"
tar -C "$stage" -czf "$out/motif-edge.tar.gz" motif-edge
rm -rf "$stage"

mkdir -p "$out/infra"
cp -r infra/appliance "$out/infra/"
(cd "$out" && sha256sum images.tar.gz motif-edge.tar.gz > SHA256SUMS)
echo "bundle ready: $out"
