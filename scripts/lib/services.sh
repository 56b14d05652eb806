# Test-bench services for scripts/test, scripts/demo and scripts/bench (sourced, not run).
#
#   start_engine               a Docker engine; exports DOCKER_HOST
#   start_registry             a registry on 127.0.0.1:5000; exports STRATA_TEST_REGISTRY
#   import_busybox_base [REF]  an offline base image with a shell (default strata-busybox:1)
#   stop_services              stops what the functions above started in this shell
#
# Every function is idempotent: a service that already answers is used as it is,
# and stop_services never touches a service it did not start. Callers do:
#   . scripts/lib/services.sh; trap stop_services EXIT; start_engine; start_registry
#
# Facts measured on Debian 12 (docker.io 20.10.24, API 1.41; docker-registry 2.8.2):
# - `POST /build?version=2` runs BuildKit with no daemon.json at all. Without
#   `features.buildkit`, GET /_ping sends no `Builder-Version: 2` header, which
#   only changes what the docker CLI picks by default; the API does not care.
# - the engine runs with --bridge=none, so a build with RUN steps needs
#   `networkmode=host`; without it RUN fails with "network bridge not found".
# - the build stream is JSON lines: `{"id":"moby.buildkit.trace","aux":"<base64
#   protobuf StatusResponse>"}`, then `{"id":"moby.image.id","aux":{"ID":"sha256:…"}}`
#   and `{"stream":"Successfully tagged …"}`; a failed build ends with
#   `{"errorDetail":{"message":…},"error":…}` and HTTP status is still 200.
#   Captured: Tests/StrataHTTPTests/Fixtures/buildkit-stream*.jsonl.

# Short on purpose: a unix socket path must fit in sun_path (108 bytes).
: "${STRATA_TEST_ROOT:=/tmp/strata-bench}"
export STRATA_TEST_ROOT
: "${STRATA_REGISTRY_ADDR:=127.0.0.1:5000}"

# The services this shell started, one "NAME PID" a line; stop_services reads it.
_strata_started_file() { echo "$STRATA_TEST_ROOT/started-by-$$"; }

_strata_log() { echo "strata-bench: $*" >&2; }

# _strata_engine_ping HOST: does the engine at a DOCKER_HOST value answer /_ping?
_strata_engine_ping() {
    local host=$1
    case "$host" in
        unix://*) curl -fsS --max-time 3 --unix-socket "${host#unix://}" http://localhost/_ping >/dev/null 2>&1 ;;
        tcp://*) curl -fsS --max-time 3 "http://${host#tcp://}/_ping" >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}

# _strata_engine_curl ARGS…: curl against the engine in DOCKER_HOST (unix socket only).
_strata_engine_curl() {
    local host=${DOCKER_HOST:-unix:///var/run/docker.sock}
    case "$host" in
        unix://*) ;;
        *) _strata_log "DOCKER_HOST=$host: only unix:// engines are supported here"; return 1 ;;
    esac
    local path=$1
    shift
    curl -sS --unix-socket "${host#unix://}" "$@" "http://localhost$path"
}

# _strata_wait NAME SECONDS LOG CHECK…: runs CHECK every half second until it
# succeeds; on time-out prints the tail of LOG and fails.
_strata_wait() {
    local name=$1 seconds=$2 log=$3
    shift 3
    local tries=$((seconds * 2))
    while ((tries-- > 0)); do
        "$@" && return 0
        sleep 0.5
    done
    _strata_log "$name did not answer within ${seconds}s; last lines of $log:"
    tail -n 30 "$log" >&2
    return 1
}

_strata_remember() {
    mkdir -p "$STRATA_TEST_ROOT"
    echo "$1 $2" >>"$(_strata_started_file)"
}

start_engine() {
    local candidate
    for candidate in "${DOCKER_HOST:-}" unix:///var/run/docker.sock "unix://$STRATA_TEST_ROOT/engine/docker.sock"; do
        if [ -n "$candidate" ] && _strata_engine_ping "$candidate"; then
            export DOCKER_HOST=$candidate
            _strata_log "using the engine at $DOCKER_HOST"
            return 0
        fi
    done
    if [ -n "${DOCKER_HOST:-}" ]; then
        _strata_log "DOCKER_HOST=$DOCKER_HOST does not answer; starting an engine of our own"
    fi
    local dir=$STRATA_TEST_ROOT/engine
    mkdir -p "$dir/root" "$dir/exec"
    # --iptables=false --bridge=none: containers here cannot get a bridge, so
    # RUN steps use the host network (networkmode=host on /build).
    dockerd --iptables=false --bridge=none \
        --data-root "$dir/root" --exec-root "$dir/exec" \
        -H "unix://$dir/docker.sock" --pidfile "$dir/dockerd.pid" \
        >"$dir/dockerd.log" 2>&1 &
    local pid=$!
    _strata_remember engine "$pid"
    if ! _strata_wait "dockerd (pid $pid)" 60 "$dir/dockerd.log" _strata_engine_ping "unix://$dir/docker.sock"; then
        return 1
    fi
    export DOCKER_HOST=unix://$dir/docker.sock
    _strata_log "started an engine at $DOCKER_HOST (log: $dir/dockerd.log)"
}

_strata_registry_ping() {
    curl -fsS --max-time 3 "http://$STRATA_REGISTRY_ADDR/v2/" >/dev/null 2>&1
}

start_registry() {
    if _strata_registry_ping; then
        export STRATA_TEST_REGISTRY=$STRATA_REGISTRY_ADDR
        _strata_log "using the registry at $STRATA_TEST_REGISTRY"
        return 0
    fi
    local dir=$STRATA_TEST_ROOT/registry
    mkdir -p "$dir/data"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $STRATA_REGISTRY_ADDR
EOF
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    local pid=$!
    _strata_remember registry "$pid"
    _strata_wait "docker-registry (pid $pid)" 30 "$dir/registry.log" _strata_registry_ping || return 1
    export STRATA_TEST_REGISTRY=$STRATA_REGISTRY_ADDR
    _strata_log "started a registry at $STRATA_TEST_REGISTRY (log: $dir/registry.log)"
}

# import_busybox_base [NAME:TAG]: an image with busybox and its applets, users
# root, app (1000) and nobody, built offline and sent to the engine the way
# `docker import` does (POST /images/create?fromSrc=-).
import_busybox_base() {
    local ref=${1:-strata-busybox:1}
    local repo=${ref%:*} tag=${ref##*:}
    [ "$repo" != "$ref" ] || tag=latest
    if [ "$(_strata_engine_curl "/images/$repo:$tag/json" -o /dev/null -w '%{http_code}')" = 200 ]; then
        _strata_log "image $repo:$tag already in the engine"
        return 0
    fi
    local busybox
    busybox=$(command -v busybox) || { _strata_log "busybox not found (apt-get install busybox-static)"; return 1; }
    local rootfs
    mkdir -p "$STRATA_TEST_ROOT"
    # Every path below is under $rootfs: an empty one would write busybox's applets over
    # the machine's own /bin and /usr/bin, and /etc/passwd (seen when STRATA_TEST_ROOT did
    # not exist and a caller had no `set -e`).
    rootfs=$(mktemp -d "$STRATA_TEST_ROOT/rootfs.XXXXXX") && [ -d "$rootfs" ] || {
        _strata_log "cannot create a folder under $STRATA_TEST_ROOT for the base image"
        return 1
    }
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/home/app" "$rootfs/tmp"
    chmod 1777 "$rootfs/tmp"
    chown 1000:1000 "$rootfs/home/app"
    cp "$busybox" "$rootfs/bin/busybox"
    local applet
    # --list-full gives each applet's usual path (bin/sh, usr/bin/env, …).
    while read -r applet; do
        [ "$applet" = bin/busybox ] && continue
        mkdir -p "$rootfs/$(dirname "$applet")"
        ln -sf /bin/busybox "$rootfs/$applet"
    done < <("$busybox" --list-full)
    cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
app:x:1000:
nogroup:x:65534:
EOF
    local status
    status=$(tar --numeric-owner -C "$rootfs" -cf - . |
        _strata_engine_curl "/images/create?fromSrc=-&repo=$repo&tag=$tag" \
            -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
            -o "$STRATA_TEST_ROOT/import.log" -w '%{http_code}')
    rm -rf "$rootfs"
    # The engine answers 200 and reports failures inside the JSON stream.
    if [ "$status" != 200 ] || grep -q '"error"' "$STRATA_TEST_ROOT/import.log"; then
        _strata_log "importing $repo:$tag failed (HTTP $status):"
        cat "$STRATA_TEST_ROOT/import.log" >&2
        return 1
    fi
    _strata_log "imported $repo:$tag"
}

stop_services() {
    local file name pid
    file=$(_strata_started_file)
    [ -f "$file" ] || return 0
    while read -r name pid; do
        kill -0 "$pid" 2>/dev/null || continue
        _strata_log "stopping $name (pid $pid)"
        kill -TERM "$pid"
        # dockerd stops its containers and containerd first; give it time.
        local tries=60
        while kill -0 "$pid" 2>/dev/null && ((tries-- > 0)); do sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    done <"$file"
    rm -f "$file"
}
