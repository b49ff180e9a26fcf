#!/usr/bin/env bash
# Builds Waybill's container image FROM scratch, offline: no base image is
# pulled. It compiles a static binary (CGO_ENABLED=0: the SQLite driver is
# pure Go), which embeds the time zone database (cmd/waybill imports
# time/tzdata), stages it with the CA bundle of the build host (Debian's
# ca-certificates) and a passwd entry for the unprivileged user 65532, and
# builds Containerfile with podman or buildah.
#
#   deploy/image/build.sh [-t TAG] [-e podman|buildah] [-v VERSION] [-o DIR]
#
#   -t TAG      image name and tag (default waybill:VERSION)
#   -e ENGINE   podman or buildah (default: $WAYBILL_IMAGE_ENGINE, else
#               podman when installed, else buildah)
#   -v VERSION  the version `waybill version` prints (default: git describe)
#   -o DIR      keep the build context in DIR instead of a temporary one
#
# The image runs as uid 65532 with /data as its only writable place (a
# volume), so it works under a read-only root file system:
#
#   podman run --read-only -v waybill-data:/data -p 8080:8080 waybill:TAG
#
# It prints the image's name on the last line of its output.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

tag="" engine="${WAYBILL_IMAGE_ENGINE:-}" version="" ctx=""
while getopts "t:e:v:o:" opt; do
  case "$opt" in
    t) tag="$OPTARG" ;;
    e) engine="$OPTARG" ;;
    v) version="$OPTARG" ;;
    o) ctx="$OPTARG" ;;
    *) echo "usage: $0 [-t TAG] [-e podman|buildah] [-v VERSION] [-o DIR]" >&2; exit 2 ;;
  esac
done

if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then engine=podman
  elif command -v buildah >/dev/null 2>&1; then engine=buildah
  else
    echo "build.sh: neither podman nor buildah is installed (apt-get install podman, or buildah)" >&2
    exit 1
  fi
fi
case "$engine" in
  podman|buildah) command -v "$engine" >/dev/null 2>&1 || { echo "build.sh: $engine is not installed" >&2; exit 1; } ;;
  *) echo "build.sh: engine $engine: want podman or buildah" >&2; exit 2 ;;
esac

ca=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$ca" ]; then
  echo "build.sh: $ca is missing: apt-get install ca-certificates" >&2
  exit 1
fi

if [ -z "$version" ]; then
  version="$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo devel)"
fi
[ -n "$tag" ] || tag="waybill:${version//[^A-Za-z0-9_.-]/-}"

if [ -z "$ctx" ]; then
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
fi
rm -rf "$ctx/rootfs" "$ctx/data"
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc/ssl/certs" "$ctx/data"

echo "build.sh: compiling waybill $version" >&2
(cd "$root" && CGO_ENABLED=0 go build -trimpath -buildvcs=auto \
  -ldflags "-s -w -X main.version=$version" -o "$ctx/rootfs/usr/local/bin/waybill" ./cmd/waybill)

cp "$ca" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nwaybill:x:65532:65532:waybill:/data:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nwaybill:x:65532:\n' >"$ctx/rootfs/etc/group"
chmod 0755 "$ctx/rootfs/usr/local/bin/waybill"
chmod 0644 "$ctx/rootfs/etc/passwd" "$ctx/rootfs/etc/group" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0700 "$ctx/data"
cp "$here/Containerfile" "$ctx/Containerfile"

labels=(--label "org.opencontainers.image.title=waybill"
        --label "org.opencontainers.image.version=$version"
        --label "org.opencontainers.image.source=https://github.com/waybill/waybill")
echo "build.sh: building $tag with $engine" >&2
case "$engine" in
  podman) podman build --pull=never "${labels[@]}" -f "$ctx/Containerfile" -t "$tag" "$ctx" >&2 ;;
  buildah) buildah build --pull=never "${labels[@]}" -f "$ctx/Containerfile" -t "$tag" "$ctx" >&2 ;;
esac
echo "$tag"
