#!/usr/bin/env bash
# One throwaway Docker engine per simulated CI runner (RunnersIntegrationTests).
#
#   runner-engine.sh start DIR   execs dockerd with its own data-root, exec-root, pidfile
#                                and containerd (started by dockerd under DIR/x), socket
#                                DIR/d.sock; the caller runs it in the background
#   runner-engine.sh ready DIR   waits for that engine, imports strata-busybox:1
#   runner-engine.sh reset DIR   removes every image but strata-busybox:1 and the build
#                                cache: the next job starts like a fresh runner
#   runner-engine.sh stop DIR    SIGTERM, then SIGKILL (dockerd and its containerd);
#                                unmounts and removes DIR
#
# DIR must be short: DIR/d.sock has to fit in sun_path (108 bytes). STRATA_ENGINE picks the
# engine (20.10, the default, 28.4 or 28.4-containerd: see services.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command=${1:?usage: runner-engine.sh start|ready|reset|stop DIR}
dir=${2:?usage: runner-engine.sh start|ready|reset|stop DIR}
export DOCKER_HOST=unix://$dir/d.sock

ping() { curl -fsS --max-time 3 --unix-socket "$dir/d.sock" http://localhost/_ping >/dev/null 2>&1; }

# alive PID: running, not a zombie (the test process reaps dockerd, its child, later).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# stop_pid PID SECONDS: SIGTERM, wait, SIGKILL.
stop_pid() {
    local pid=$1 tries=$(($2 * 4))
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && ((tries-- > 0)); do sleep 0.25; done
    if alive "$pid"; then
        echo "runner-engine: pid $pid ignored SIGTERM; SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
}

case "$command" in
start)
    mkdir -p "$dir/root" "$dir/x"
    . "$here/services.sh"
    strata_dockerd_command "${STRATA_ENGINE:-20.10}" "$dir"
    # exec: dockerd replaces this shell, so the caller owns it (no background grandchild,
    # which Foundation's Process.waitUntilExit can miss); `ready` then waits for it.
    exec "${STRATA_DOCKERD_COMMAND[@]}" </dev/null >"$dir/dockerd.log" 2>&1
    ;;
ready)
    tries=120
    until ping; do
        if ((tries-- <= 0)); then
            echo "runner-engine: dockerd in $dir did not answer in 60s:" >&2
            tail -n 30 "$dir/dockerd.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    # import_busybox_base keeps its scratch files under STRATA_TEST_ROOT.
    STRATA_TEST_ROOT=$dir bash -c '. "$1/services.sh"; import_busybox_base strata-busybox:1' _ "$here"
    ;;
reset)
    ids=$(docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | awk '$1 != "strata-busybox:1" {print $2}' | sort -u)
    keep=$(docker images --format '{{.ID}}' strata-busybox:1)
    for id in $ids; do
        [ "$id" = "$keep" ] && continue
        docker rmi -f "$id" >/dev/null 2>&1 || true
    done
    docker builder prune -af >/dev/null 2>&1
    left=$(docker images -q | sort -u)
    if [ "$left" != "$keep" ]; then
        echo "runner-engine: images left after reset: $left" >&2
        exit 1
    fi
    ;;
stop)
    [ -d "$dir" ] || exit 0
    if [ -f "$dir/d.pid" ]; then stop_pid "$(cat "$dir/d.pid")" 30; fi
    # dockerd stops its containerd; after a SIGKILL it is left over.
    if [ -f "$dir/x/containerd/containerd.pid" ]; then stop_pid "$(cat "$dir/x/containerd/containerd.pid")" 10; fi
    { grep -o " $dir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
    rm -rf "$dir"
    ;;
*)
    echo "usage: runner-engine.sh start|ready|reset|stop DIR" >&2
    exit 2
    ;;
esac
