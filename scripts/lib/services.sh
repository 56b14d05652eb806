# Test-bench services for scripts/test, scripts/demo and scripts/bench (sourced, not run).
#
#   start_engine               a Docker engine; exports DOCKER_HOST and STRATA_DOCKER_CLI
#                              (STRATA_ENGINE picks which: see below)
#   start_engine_kind KIND     a Docker 28.4 engine (KIND 28.4 or 28.4-containerd) on a socket
#                              of its own; prints its DOCKER_HOST value (exports nothing)
#   use_modern_docker_cli      exports STRATA_DOCKER_CLI and DOCKER_CONFIG: a docker CLI with
#                              buildx, which Docker 28.4's BuildKit needs
#   start_registry             a registry on 127.0.0.1:5000; exports STRATA_TEST_REGISTRY
#   import_busybox_base [REF]  an offline base image with a shell (default strata-busybox:1)
#   engine_description HOST    "Docker 28.4.0, containerd store"
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

# The engines strata is tested against (STRATA_ENGINE, one of STRATA_ENGINE_KINDS):
# - 20.10: Debian 12's docker.io (API 1.41, BuildKit 0.8, classic image store), the default:
#   an engine that already answers (DOCKER_HOST, /var/run/docker.sock) is used as it is;
# - 28.4: Docker 28.4.0 (API 1.51, BuildKit 0.24), classic store;
# - 28.4-containerd: the same with the containerd image store (an image's ID is its
#   manifest digest; `docker save` writes an OCI layout), the default of new Docker 29 installs.
# The 28.4 binaries are static builds kept in ../shared/engines (STRATA_ENGINES_DIR), see
# its README.md; each 28.4 engine gets a socket of its own, $STRATA_TEST_ROOT/<kind>/d.sock.
STRATA_ENGINE_KINDS=(20.10 28.4 28.4-containerd)
: "${STRATA_ENGINE:=20.10}"
: "${STRATA_ENGINES_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/engines}"

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

# _strata_remember NAME PID [DIR]: DIR, for an engine, is the folder of its exec root
# (DIR/x) whose containerd and mounts stop_services cleans up after it.
_strata_remember() {
    mkdir -p "$STRATA_TEST_ROOT"
    echo "$1 $2 ${3:-}" >>"$(_strata_started_file)"
}

start_engine() {
    case "$STRATA_ENGINE" in
        20.10) ;;
        28.4 | 28.4-containerd)
            local host
            host=$(start_engine_kind "$STRATA_ENGINE") || return 1
            export DOCKER_HOST=$host
            use_modern_docker_cli
            return
            ;;
        *)
            _strata_log "STRATA_ENGINE=$STRATA_ENGINE: not an engine strata is tested against (${STRATA_ENGINE_KINDS[*]})"
            return 1
            ;;
    esac
    # Debian's CLI drives 20.10's BuildKit without buildx.
    export STRATA_DOCKER_CLI=/usr/bin/docker
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

# _strata_engine28_bin: unpacks dockerd and docker-proxy 28.4.0 from STRATA_ENGINES_DIR once
# (dockerd finds docker-proxy on PATH); prints the folder.
_strata_engine28_bin() {
    local bin=$STRATA_TEST_ROOT/engine28-bin name
    for name in dockerd docker-proxy; do
        [ -x "$bin/$name" ] && continue
        if [ ! -f "$STRATA_ENGINES_DIR/$name-28.4.0.gz" ]; then
            _strata_log "$STRATA_ENGINES_DIR/$name-28.4.0.gz not found: Docker 28.4 engines need ../shared/engines"
            return 1
        fi
        mkdir -p "$bin"
        gunzip -c "$STRATA_ENGINES_DIR/$name-28.4.0.gz" >"$bin/$name.$$.partial" && chmod +x "$bin/$name.$$.partial" &&
            mv "$bin/$name.$$.partial" "$bin/$name" || return 1
    done
    echo "$bin"
}

# strata_dockerd_command KIND DIR: sets STRATA_DOCKERD_COMMAND to the command line of an engine
# of KIND (one of STRATA_ENGINE_KINDS) kept under DIR: data root DIR/root, exec root (and its
# containerd) DIR/x, pidfile DIR/d.pid, socket DIR/d.sock. No bridge: RUN steps need
# networkmode=host. Docker 28.4 runs from STRATA_ENGINES_DIR, docker-proxy on its PATH.
strata_dockerd_command() {
    local kind=$1 dir=$2
    local common=(--iptables=false --bridge=none --data-root "$dir/root" --exec-root "$dir/x"
        --pidfile "$dir/d.pid" -H "unix://$dir/d.sock")
    case "$kind" in
        20.10)
            STRATA_DOCKERD_COMMAND=(dockerd "${common[@]}")
            ;;
        28.4 | 28.4-containerd)
            local bin
            bin=$(_strata_engine28_bin) || return 1
            mkdir -p "$dir"
            STRATA_DOCKERD_COMMAND=(env "PATH=$bin:$PATH" "$bin/dockerd" --ip-masq=false "${common[@]}")
            if [ "$kind" = 28.4-containerd ]; then
                echo '{"features":{"containerd-snapshotter":true}}' >"$dir/daemon.json"
                STRATA_DOCKERD_COMMAND+=(--config-file "$dir/daemon.json")
            fi
            ;;
        *)
            _strata_log "$kind: not an engine strata is tested against (${STRATA_ENGINE_KINDS[*]})"
            return 1
            ;;
    esac
}

# start_engine_kind KIND: the Docker 28.4 engine of KIND (28.4 or 28.4-containerd) under
# $STRATA_TEST_ROOT/KIND, started unless it already answers there; prints its DOCKER_HOST value.
start_engine_kind() {
    local kind=$1 dir=$STRATA_TEST_ROOT/$1
    case "$kind" in
        28.4 | 28.4-containerd) ;;
        *)
            _strata_log "$kind: not a Docker 28.4 engine strata is tested against (28.4, 28.4-containerd)"
            return 1
            ;;
    esac
    local host=unix://$dir/d.sock
    if _strata_engine_ping "$host"; then
        _strata_log "using the $kind engine at $host"
        echo "$host"
        return 0
    fi
    strata_dockerd_command "$kind" "$dir" || return 1
    "${STRATA_DOCKERD_COMMAND[@]}" </dev/null >"$dir/dockerd.log" 2>&1 &
    local pid=$!
    _strata_remember engine "$pid" "$dir"
    _strata_wait "dockerd $kind (pid $pid)" 60 "$dir/dockerd.log" _strata_engine_ping "$host" || return 1
    _strata_log "started a $kind engine at $host (log: $dir/dockerd.log)"
    echo "$host"
}

# use_modern_docker_cli: the docker CLI that drives BuildKit 0.24 (Docker 23 on, through the
# buildx plugin, installed from STRATA_ENGINES_DIR into a DOCKER_CONFIG of the bench's own,
# never ~/.docker); exports STRATA_DOCKER_CLI and DOCKER_CONFIG. Debian's 20.10 CLI fails
# there on a context file with a non-ASCII name (the differential corpus's copy-unicode-name).
use_modern_docker_cli() {
    local cli="" candidate version
    for candidate in /usr/local/bin/docker "$(command -v docker)"; do
        [ -x "$candidate" ] || continue
        # "Docker version 28.2.2, build e6534b4"
        version=$("$candidate" --version 2>/dev/null) || continue
        version=${version#Docker version }
        if [ "${version%%.*}" -ge 23 ] 2>/dev/null; then cli=$candidate; break; fi
    done
    if [ -z "$cli" ]; then
        _strata_log "no docker CLI 23 or newer (seen: /usr/local/bin/docker, $(command -v docker)): the 28.4 engines need one"
        return 1
    fi
    local config=$STRATA_TEST_ROOT/docker-config
    if [ ! -x "$config/cli-plugins/docker-buildx" ]; then
        if [ ! -f "$STRATA_ENGINES_DIR/docker-buildx-0.28.0.gz" ]; then
            _strata_log "$STRATA_ENGINES_DIR/docker-buildx-0.28.0.gz not found: the docker CLI needs buildx for BuildKit 0.24"
            return 1
        fi
        mkdir -p "$config/cli-plugins"
        gunzip -c "$STRATA_ENGINES_DIR/docker-buildx-0.28.0.gz" >"$config/cli-plugins/docker-buildx.partial" &&
            chmod +x "$config/cli-plugins/docker-buildx.partial" &&
            mv "$config/cli-plugins/docker-buildx.partial" "$config/cli-plugins/docker-buildx" || return 1
    fi
    export DOCKER_CONFIG=$config STRATA_DOCKER_CLI=$cli
}

# engine_description HOST: "Docker 28.4.0, containerd store" for the engine at HOST (unix://).
engine_description() {
    local version store=classic
    version=$(DOCKER_HOST=$1 _strata_engine_curl /version 2>/dev/null | jq -r .Version) && [ -n "$version" ] || return 1
    # The containerd image store shows its snapshotter as the storage driver's driver-type.
    if DOCKER_HOST=$1 _strata_engine_curl /info 2>/dev/null | grep -q io.containerd.snapshotter; then store=containerd; fi
    echo "Docker $version, $store store"
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
# root, app (1000) and nobody, built offline and loaded into the engine as an image archive
# that is the same byte for byte everywhere (POST /images/load).
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
    # A `docker load` of an archive made here, byte for byte the same on every engine and
    # every run (sorted entries, mtime 0, numeric owners, a fixed config): the base has the
    # same image ID on every engine, as a base pulled from a registry has the same digest, so
    # the keys of the nodes built on it agree across engines (the runner simulation's CI).
    # `docker import` stamped each copy with its own creation time.
    local archive arch
    archive=$(mktemp -d "$STRATA_TEST_ROOT/archive.XXXXXX") && [ -d "$archive" ] || {
        rm -rf "$rootfs"
        _strata_log "cannot create a folder under $STRATA_TEST_ROOT for the base image"
        return 1
    }
    tar --numeric-owner --sort=name --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$rootfs" -cf "$archive/layer.tar" .
    rm -rf "$rootfs"
    case "$(uname -m)" in aarch64 | arm64) arch=arm64 ;; *) arch=amd64 ;; esac
    local diff_id
    diff_id=sha256:$(sha256sum "$archive/layer.tar" | cut -d' ' -f1)
    printf '{"architecture":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z","created_by":"strata-busybox: busybox-static from Debian"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
        "$arch" "$diff_id" >"$archive/config.json"
    printf '[{"Config":"config.json","RepoTags":["%s:%s"],"Layers":["layer.tar"]}]' "$repo" "$tag" >"$archive/manifest.json"
    local status
    status=$(tar --numeric-owner --sort=name --mtime=@0 -C "$archive" -cf - manifest.json config.json layer.tar |
        _strata_engine_curl "/images/load?quiet=1" \
            -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
            -o "$STRATA_TEST_ROOT/import.log" -w '%{http_code}')
    rm -rf "$archive"
    # The engine answers 200 and reports failures inside the JSON stream.
    if [ "$status" != 200 ] || grep -q '"error"' "$STRATA_TEST_ROOT/import.log"; then
        _strata_log "importing $repo:$tag failed (HTTP $status):"
        cat "$STRATA_TEST_ROOT/import.log" >&2
        return 1
    fi
    _strata_log "imported $repo:$tag"
}

# _strata_stop_pid NAME PID SECONDS: SIGTERM, then SIGKILL after SECONDS; dockerd stops its
# containers and containerd first, so it gets time.
_strata_stop_pid() {
    local name=$1 pid=$2 tries=$(($3 * 2))
    kill -0 "$pid" 2>/dev/null || return 0
    _strata_log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && ((tries-- > 0)); do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
}

stop_services() {
    local file name pid dir
    file=$(_strata_started_file)
    [ -f "$file" ] || return 0
    while read -r name pid dir; do
        _strata_stop_pid "$name" "$pid" 30
        [ -n "$dir" ] || continue
        # A dockerd killed before it stopped its containerd leaves it, and its mounts, behind.
        [ -f "$dir/x/containerd/containerd.pid" ] &&
            _strata_stop_pid "containerd of $name" "$(cat "$dir/x/containerd/containerd.pid")" 10
        { grep -o " $dir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do
            umount -l "$mount" 2>/dev/null || true
        done
    done <"$file"
    rm -f "$file"
}
