#!/usr/bin/env bash
# `npm run image:check`: builds the Dockerfile for real with podman (no Docker daemon needed) and
# runs the image the way deploy/workload runs the pod: read-only root filesystem, writable only
# /tmp, /app/.next/cache and /data, as the image's user, all capabilities dropped. Checked: the
# process's uid, the read-only root, /api/healthz, /api/readyz, /flows, the HEALTHCHECK, SIGTERM
# (a clean, quick exit), the image's size; once with the embedded store and the demo cluster, once
# with PostgreSQL (host network; skipped when none answers); and docs/deploy.md's `docker run -p`. Opt-in (slow, needs root and podman),
# not part of `npm test`. docs/deploy.md, "Building the image without Docker Hub".
#
# Settings (environment):
#   NODE_IMAGE       base image (the Dockerfile's ARG). Default: node:20-bookworm-slim when podman
#                    has it, otherwise localhost/node:20-bookworm-slim, made once here from Debian
#                    (debootstrap, deb.debian.org) and this machine's node/npm (no Docker Hub).
#   BASE_NPM_VERSION npm in that stand-in: 10.8.2 (what Node 20 bundles), or "host" (this machine's)
#   IMAGE            tag to build (localhost/flowlens:check)
#   SKIP_BUILD=1     check an IMAGE built before
#   CHECK_PG_URL     PostgreSQL for the second run (postgresql://postgres@127.0.0.1:5432/test);
#                    its schema img_check_<pid> is dropped afterwards. CHECK_PG_URL=none skips it.
#   PORT_CHECK       host port the runs listen on (13000)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/flowlens:check}
CHECK_PG_URL=${CHECK_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
PORT_CHECK=${PORT_CHECK:-13000}
WORK=${IMAGE_CHECK_WORK:-/var/tmp/flowlens-image-check}
BASE_NPM_VERSION=${BASE_NPM_VERSION:-10.8.2}
NAME=flowlens-image-check-$$
failures=0

say() { printf '\n== %s\n' "$*"; }
ok() { printf '  ok   %s\n' "$*"; }
bad() { printf '  FAIL %s\n' "$*"; failures=$((failures + 1)); }

command -v podman >/dev/null || { echo "image-check: podman is missing (Debian: apt-get install -y podman runc)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "image-check: run as root (rootful podman)" >&2; exit 2; }

# --- the base image --------------------------------------------------------------------------
make_local_base() {
  local rootfs=$WORK/base-rootfs node npmdir
  command -v debootstrap >/dev/null || { echo "image-check: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 2; }
  node=$(command -v node); npmdir=$(dirname "$(readlink -f "$(command -v npm)")")/..
  case "$("$node" -v)" in v20.*) ;; *) echo "image-check: this machine's node is $("$node" -v), the image's base is Node 20" >&2; exit 2 ;; esac
  say "base: localhost/node:20-bookworm-slim from debootstrap bookworm + $node $("$node" -v), npm $BASE_NPM_VERSION"
  rm -rf "$rootfs"; mkdir -p "$WORK"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log"
  # the layout of node's official image: /usr/local/bin/node, npm under /usr/local/lib, user node
  install -D -m 755 "$node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  # the npm Node 20 bundles (npm 11 would skip the dependencies' install scripts), from the registry
  if [ "$BASE_NPM_VERSION" = host ]; then cp -a "$(readlink -f "$npmdir")" "$rootfs/usr/local/lib/node_modules/npm"
  else
    (cd "$WORK" && rm -f npm-*.tgz && npm pack --silent "npm@$BASE_NPM_VERSION" >/dev/null)
    mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
    tar -xzf "$WORK/npm-$BASE_NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  fi
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# as node's official image: run with node if the first argument is a flag or not a command
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 755 "$rootfs/usr/local/bin/docker-entrypoint.sh"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
  tar -C "$rootfs" -c . | podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$("$node" -v | tr -d v)" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["node"]' \
    - localhost/node:20-bookworm-slim >/dev/null
  rm -rf "$rootfs"
}
if [ -z "${NODE_IMAGE:-}" ]; then
  if podman image exists docker.io/library/node:20-bookworm-slim; then NODE_IMAGE=docker.io/library/node:20-bookworm-slim
  else
    podman image exists localhost/node:20-bookworm-slim || make_local_base
    NODE_IMAGE=localhost/node:20-bookworm-slim
  fi
fi

# --- what this machine's container runtime needs ---------------------------------------------
# Sandboxes refuse some of podman's defaults: raising RLIMIT_NPROC/NOFILE, or crun with hybrid
# cgroups. The first option set that starts the base image is used for the build and the runs.
OPTS=()
for candidate in "" "--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096" \
  "--runtime runc --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096"; do
  # shellcheck disable=SC2086
  if podman run --rm $candidate --entrypoint true "$NODE_IMAGE" >/dev/null 2>&1; then read -r -a OPTS <<<"$candidate"; break; fi
  candidate=none
done
[ "${candidate:-}" != none ] || { echo "image-check: podman cannot start $NODE_IMAGE here:" >&2; podman run --rm --entrypoint true "$NODE_IMAGE" >&2; exit 2; }
echo "image-check: base $NODE_IMAGE, podman options: ${OPTS[*]:-(none)}"

# --- build -----------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "build $IMAGE"
  # --format docker keeps HEALTHCHECK (OCI images have none). npm ci reaches the registry through
  # the host's network, trusting the host's CA bundle (mounted for the build's RUN steps only).
  mounts=()
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$WORK"; printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$WORK/npmrc"
    mounts=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro -v "$WORK/npmrc:/usr/local/etc/npmrc:ro")
  fi
  start=$(date +%s)
  podman build "${OPTS[@]}" --network host --format docker "${mounts[@]}" \
    --build-arg NODE_IMAGE="$NODE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log"; echo "image-check: build failed ($WORK/build.log)" >&2; exit 1; }
  ok "built in $(($(date +%s) - start)) s ($WORK/build.log)"
fi

say "image $IMAGE"
size=$(podman image inspect -f '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect -f '{{.Size}}' "$NODE_IMAGE" 2>/dev/null || echo 0)
ok "size $((size / 1000000)) MB ($(((size - base_size) / 1000000)) MB on the base)"
user=$(podman image inspect -f '{{.Config.User}}' "$IMAGE")
[ "$user" = 10001:10001 ] && ok "USER $user" || bad "USER is '$user', expected 10001:10001"
hc=$(podman image inspect -f '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Test}}{{end}}' "$IMAGE")
[ -n "$hc" ] && ok "HEALTHCHECK kept: $hc" || bad "no HEALTHCHECK in the image config (built with --format oci?)"

# --- runs ------------------------------------------------------------------------------------
get() { # URL -> "status bytes"
  node -e 'fetch(process.argv[1]).then(async r=>{const b=await r.text();console.log(r.status, b.length)},e=>{console.log("000 0");})' "$1"
}
# podman without systemd says at every start and stop that it cannot schedule the healthcheck timer
quiet() { grep -v 'systemd connection' >&2 || true; }
cleanup() { podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true; podman volume rm -f "$NAME-data" "$NAME-cache" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# the pod of deploy/workload: readOnlyRootFilesystem, emptyDirs on /tmp and /app/.next/cache, a
# volume on /data, capabilities dropped, no privilege escalation, the image's own user. (The cache is
# a volume, not --tmpfs: podman 4.3 with runc mounts that tmpfs root-owned 0755 whatever its mode=.)
run_case() { # label, extra podman args...
  local label=$1; shift
  say "run: $label"
  cleanup
  podman volume create "$NAME-data" >/dev/null; podman volume create "$NAME-cache" >/dev/null
  podman run -d --name "$NAME" "${OPTS[@]}" --network host \
    --read-only --read-only-tmpfs=false \
    --tmpfs /tmp:rw,size=256m,mode=1777 -v "$NAME-cache:/app/.next/cache" -v "$NAME-data:/data" \
    --cap-drop ALL --security-opt no-new-privileges \
    -e PORT="$PORT_CHECK" -e FLOWLENS_AUTH=off -e FLOWLENS_GRPC_ADDR=127.0.0.1:$((PORT_CHECK + 1)) \
    "$@" "$IMAGE" 2>&1 >/dev/null | quiet
  local base=http://127.0.0.1:$PORT_CHECK t0 ready=""
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt 180 ]; do
    [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || break
    read -r code _ < <(get "$base/api/readyz"); [ "$code" = 200 ] && { ready=1; break; }
    sleep 2
  done
  if [ -z "$ready" ]; then bad "/api/readyz not 200 within 180 s"; podman logs --tail 40 "$NAME"; return; fi
  ok "/api/readyz 200 after $(($(date +%s) - t0)) s"
  read -r code _ < <(get "$base/api/healthz"); [ "$code" = 200 ] && ok "/api/healthz 200" || bad "/api/healthz $code"
  read -r code len < <(get "$base/flows"); [ "$code" = 200 ] && ok "/flows 200 ($len bytes)" || bad "/flows $code"
  uid=$(podman exec "$NAME" sh -c 'grep ^Uid: /proc/1/status' | awk '{print $2 ":" $3}')
  [ "$uid" = 10001:10001 ] && ok "the server (pid 1) runs as uid 10001" || bad "pid 1 uid $uid"
  for p in /app /usr/local /etc; do
    if podman exec "$NAME" sh -c "touch $p/.w" 2>/dev/null; then bad "$p is writable"; else ok "$p read-only"; fi
  done
  podman exec "$NAME" sh -c 'touch /tmp/.w /data/.w /app/.next/cache/.w' && ok "/tmp, /data, /app/.next/cache writable" || bad "a declared volume is not writable"
  podman exec "$NAME" sh -c 'mount | grep " on / " | grep -q "[(,]ro[,)]"' && ok "/ mounted ro" || bad "/ not mounted read-only"
  if podman healthcheck run "$NAME" >/dev/null 2>&1; then ok "podman healthcheck run: healthy"
  else
    # podman without systemd may refuse; the same command by exec
    local cmd; cmd=$(podman image inspect -f '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{printf "%s\x1f" $a}}{{end}}{{end}}' "$IMAGE")
    IFS=$'\x1f' read -r -a argv <<<"${cmd%$'\x1f'}"
    podman exec "$NAME" "${argv[@]}" && ok "HEALTHCHECK command by exec: exit 0" || bad "HEALTHCHECK command failed"
  fi
  local s0 s1 ec
  s0=$(date +%s%N)
  podman stop -t 30 "$NAME" 2>&1 >/dev/null | quiet
  s1=$(date +%s%N)
  ec=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
  local ms=$(((s1 - s0) / 1000000))
  [ "$ec" = 0 ] && ok "SIGTERM: exit 0 in $ms ms" || bad "SIGTERM: exit code $ec after $ms ms"
  [ "$ms" -lt 15000 ] || bad "SIGTERM took $ms ms (the pod's budget is 15 s)"
  podman logs "$NAME" 2>&1 | grep -i -E '"level":(50|60)|error' | head -5 | sed 's/^/  log: /' || true
}

run_case "embedded store, demo cluster (no DATABASE_URL)"

say "run: no sign-in configured and no FLOWLENS_AUTH=off (the image listens on HOSTNAME=0.0.0.0)"
out=$(podman run --rm "${OPTS[@]}" --read-only --network none "$IMAGE" 2>&1 | grep -v 'systemd connection') && ec=0 || ec=$?
if [ "$ec" = 2 ] && grep -q "listens on 127.0.0.1 only" <<<"$out"; then ok "refuses to start (exit 2) and says why"; else bad "exit $ec: $out"; fi

say "run: as docs/deploy.md's docker run (writable root, published port, podman's own network)"
cleanup
podman run -d --name "$NAME" "${OPTS[@]}" -p "127.0.0.1:$((PORT_CHECK + 2)):3000" -e FLOWLENS_AUTH=off \
  -v "$NAME-data:/data" "$IMAGE" 2>&1 >/dev/null | quiet
t0=$(date +%s); code=000
while [ $(($(date +%s) - t0)) -lt 120 ] && [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ]; do
  read -r code _ < <(get "http://127.0.0.1:$((PORT_CHECK + 2))/api/readyz"); [ "$code" = 200 ] && break
  sleep 2
done
[ "$code" = 200 ] && ok "/api/readyz 200 through -p $((PORT_CHECK + 2)):3000 after $(($(date +%s) - t0)) s" || { bad "/api/readyz $code through the published port"; podman logs --tail 20 "$NAME"; }
# the root filesystem is writable here, the app still is not: root's files, the user's only in volumes
if podman exec "$NAME" sh -c 'touch /app/.w || touch /app/server.js || touch /app/.next/.w' 2>/dev/null; then bad "the user can write in /app"
else ok "/app (root-owned) not writable by uid 10001 even without --read-only"; fi
cleanup

if [ "$CHECK_PG_URL" != none ]; then
  schema=img_check_$$
  if command -v psql >/dev/null && psql "$CHECK_PG_URL" -Atc 'select 1' >/dev/null 2>&1; then
    run_case "PostgreSQL ($CHECK_PG_URL, schema $schema)" -e DATABASE_URL="$CHECK_PG_URL?schema=$schema"
    n=$(psql "$CHECK_PG_URL" -Atc "select count(*) from information_schema.tables where table_schema='$schema'")
    [ "$n" -gt 0 ] && ok "migrations applied: $n tables in $schema" || bad "no tables in $schema"
    psql "$CHECK_PG_URL" -qc "set client_min_messages = warning; drop schema if exists $schema cascade" >/dev/null
  else
    say "PostgreSQL at $CHECK_PG_URL does not answer (or no psql): that run is skipped"
  fi
fi

say "$([ "$failures" = 0 ] && echo "image-check: all passed" || echo "image-check: $failures failed")"
[ "$failures" = 0 ]
