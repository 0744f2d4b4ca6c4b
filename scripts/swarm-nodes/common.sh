# shellcheck shell=bash
# The helpers of scripts/swarm-nodes.sh: timing, messages, where node k lives
# (namespace, address, directory, socket, exec root), a bounded call to its
# engine, and finding its processes and mounts.

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "swarm-nodes: $*"; }
die() { echo "swarm-nodes: $*" >&2; exit 1; }

ns() { echo "$PREFIX$1"; }
ip_of() { echo "$NET3.$((10 + $1))"; }
dir_of() { echo "$STATE/node$1"; }
sock_of() { echo "$STATE/node$1/docker.sock"; }
exec_root_of() { echo "/run/$PREFIX$1"; }
# Every call to a node is bounded: a node that hangs fails the step, not the run.
dk() { local k=$1; shift; timeout "${DK_TIMEOUT:-60}" docker -H "unix://$(sock_of "$k")" "$@"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Every pid in node k's cgroup tree (pids hierarchy).
node_pids() {
  local base
  base=$CGROUPS/pids/$(ns "$1")
  [ -d "$base" ] || return 0
  find "$base" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un
}

# Unmounts everything under a path, deepest first (overlay rootfs, netns files).
unmount_under() {
  local p=$1
  awk -v p="$p" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

pid_of() { local f; f=$(dir_of "$1")/docker.pid; if [ -f "$f" ]; then cat "$f" 2>/dev/null || true; fi; }
