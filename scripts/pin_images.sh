#!/usr/bin/env bash
# Re-read the image pins of docker-compose.yml and the Dockerfile from their registries
# (README "Image pins"). Run it on a machine with Docker and buildx:
#
#   scripts/pin_images.sh            check every NAME:TAG@sha256:DIGEST pin: the digest is
#                                    served, is a multi-platform index with linux/amd64,
#                                    and is what TAG points at today; exit 1 if one is not
#   scripts/pin_images.sh --update   the same, and write the digest TAG points at today
#                                    into the files (then rebuild and test)
#
# Every pin is the tag plus the digest of its index, as `docker buildx imagetools inspect`
# prints it; a per-platform manifest digest (docker build logs, `docker manifest inspect`'s
# .manifests[]) would tie the stack to one architecture and is refused.
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=(docker-compose.yml Dockerfile)
update=0
case "${1:-}" in
  "") ;;
  --update) update=1 ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

if ! docker buildx imagetools inspect --help >/dev/null 2>&1; then
  echo "needs docker with the buildx plugin (docker buildx imagetools inspect)" >&2
  exit 2
fi

# "MEDIATYPE DIGEST PLATFORM..." of a reference, from imagetools' default output:
# the top-level MediaType and Digest lines, then one Platform line per manifest.
inspect() {
  docker buildx imagetools inspect "$1" | awk '
    /^MediaType:/ && !media { media = $2 }
    /^Digest:/ && !digest { digest = $2 }
    /^[ \t]+Platform:/ { platforms = platforms " " $2 }
    END { print media, digest platforms }'
}

is_index() {
  case "$1" in
    application/vnd.oci.image.index.v1+json | \
    application/vnd.docker.distribution.manifest.list.v2+json) return 0 ;;
    *) return 1 ;;
  esac
}

pins=$(grep -ohE '[a-z0-9][a-z0-9./_-]*:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}' "${FILES[@]}" \
       | sort -u)
if [[ -z $pins ]]; then
  echo "no NAME:TAG@sha256:DIGEST pin in ${FILES[*]}" >&2
  exit 1
fi

bad=0
for pin in $pins; do
  tagged=${pin%@*}            # name:tag
  pinned=${pin#*@}            # sha256:...
  name=${tagged%:*}

  if ! read -r media digest platforms < <(inspect "$name@$pinned") || [[ -z $digest ]]; then
    echo "GONE   $pin: the registry does not serve this digest"
    bad=1
    continue
  fi
  if ! is_index "$media"; then
    echo "SINGLE $pin: $media, not a multi-platform index"
    bad=1
    continue
  fi
  if [[ " $platforms " != *" linux/amd64 "* ]]; then
    echo "NOAMD  $pin: platforms${platforms:+ }$platforms, no linux/amd64"
    bad=1
    continue
  fi

  read -r media now platforms < <(inspect "$tagged")
  if [[ $now == "$pinned" ]]; then
    echo "OK     $pin ($platforms)"
  elif ! is_index "$media" || [[ " $platforms " != *" linux/amd64 "* ]]; then
    echo "SINGLE $tagged now points at $now ($media, $platforms): not updating to it"
    bad=1
  elif (( update )); then
    sed -i "s|${tagged}@${pinned}|${tagged}@${now}|g" "${FILES[@]}"
    echo "UPDATE $tagged: $pinned -> $now"
  else
    echo "MOVED  $tagged now points at $now (pinned $pinned): review, then --update"
    bad=1
  fi
done
exit "$bad"
