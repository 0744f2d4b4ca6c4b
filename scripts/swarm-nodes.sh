#!/usr/bin/env bash
# A Docker Swarm of N nodes on this one machine (issue 13, "many nodes"):
# each node is a dockerd in a network namespace of its own, wired to a "hub"
# namespace's Linux bridge by a veth pair, on private addresses that exist only
# inside these namespaces. Nothing is added to the host's network namespace
# (no link, route or iptables rule) and the machine's default engine is not
# touched; every node's API is a unix socket on the shared filesystem.
#
#   scripts/swarm-nodes.sh up [N]        N = 3 (default) or 2
#   scripts/swarm-nodes.sh down [--purge] --purge also removes var/swarm-nodes
#   scripts/swarm-nodes.sh status
#   scripts/swarm-nodes.sh kill K        power node K off: SIGKILL its dockerd,
#                                        containerd, shims and containers
#
# Node k: netns rtmn<k>, address 10.213.0.(10+k), socket
# var/swarm-nodes/node<k>/docker.sock, data var/swarm-nodes/node<k>/data, exec
# root /run/rtmn<k>, log var/log/swarm-node-<k>.log, hostname rtm-node-<k>,
# every process (dockerd, its containerd, the shims, the containers) in the
# cgroup /rtmn<k>: that is how `kill` and `down` find all of a node.
# Node 1 is the manager; the others join as workers. `up` writes
# var/swarm-nodes/nodes.env (sockets, addresses) for the tests.
#
# Why each choice:
# - `nsenter --net` and not `ip netns exec`: the latter remounts /sys, and
#   dockerd then fails with "Devices cgroup isn't mounted".
# - dockerd keeps iptables on: the rules land in the node's own netns, and the
#   overlay (VXLAN) data path needs them.
# - No default route in any namespace, and the containers' upstream DNS is the
#   hub's address (where nothing listens): a name Swarm does not know fails at
#   once, and no packet can leave these namespaces.
# - DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: a task uses the node's local image
#   instead of asking a registry (none is reachable; images are loaded by
#   `docker save | docker load`).
# - The kernel here has no IPVS (CONFIG_IP_VS unset): a service's virtual IP
#   does not carry traffic; services meant to be reached by name need
#   endpoint mode dnsrr (the name resolves to the task's own address).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=$ROOT/var/swarm-nodes
LOGS=$ROOT/var/log
PREFIX=rtmn
HUB=${PREFIX}-hub
NET3=10.213.0            # hub bridge .1, node k .(10+k)
POOL=10.214.0.0/16       # Swarm's address pool (overlay subnets), inside the namespaces only
OVERLAY=galaxy-engines-multi
OVERLAY_SUBNET=10.214.10.0/24
HEARTBEAT=${RTM_SWARM_HEARTBEAT:-1s}
MAX_NODES=3
CGROUPS=/sys/fs/cgroup

t0=$(date +%s.%N)
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

need_tools() {
  for t in dockerd docker nsenter unshare ip awk; do command -v "$t" >/dev/null || die "missing tool: $t"; done
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, dockerd)"
  if [ ! -d "$CGROUPS/pids" ] || [ ! -d "$CGROUPS/freezer" ]; then die "needs cgroup v1 pids and freezer hierarchies under $CGROUPS"; fi
}

# The overlay driver needs VXLAN in the kernel; prove it by making one in the hub.
check_kernel() {
  local cfg=""
  [ -r /proc/config.gz ] && cfg=$(zcat /proc/config.gz 2>/dev/null || true)
  if ! ip -n "$HUB" link add rtmnvxcheck type vxlan id 4242 dstport 4789 dev br0 2>/tmp/rtmn-vx.err; then
    modprobe vxlan 2>/dev/null || true
    ip -n "$HUB" link add rtmnvxcheck type vxlan id 4242 dstport 4789 dev br0 2>/tmp/rtmn-vx.err ||
      die "the kernel cannot make a VXLAN device (overlay networks need it): $(cat /tmp/rtmn-vx.err)"
  fi
  ip -n "$HUB" link del rtmnvxcheck
  say "kernel: vxlan ok"
  if [ -n "$cfg" ] && ! grep -q '^CONFIG_IP_VS=' <<<"$cfg"; then
    say "kernel: no IPVS (CONFIG_IP_VS unset): service virtual IPs carry no traffic; use endpoint mode dnsrr"
  fi
}

# ---------------------------------------------------------------- down / kill

# SIGKILLs every process of node k (dockerd, containerd, shims, containers):
# the machine behind that node lost its power. Bounded.
kill_node() {
  local k=$1 base pids
  base=$(ns "$k")
  # Freeze first so nothing forks while we kill, then kill, then thaw.
  if [ -d "$CGROUPS/freezer/$base" ]; then echo FROZEN >"$CGROUPS/freezer/$base/freezer.state" 2>/dev/null || true; fi
  for _ in $(seq 1 50); do
    pids=$(node_pids "$k")
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $pids 2>/dev/null || true
    if [ -d "$CGROUPS/freezer/$base" ]; then echo THAWED >"$CGROUPS/freezer/$base/freezer.state" 2>/dev/null || true; fi
    sleep 0.1
  done
  pids=$(node_pids "$k")
  [ -z "$pids" ] || die "node $k: processes survive SIGKILL: $pids"
}

# Removes node k's cgroups in every hierarchy, deepest first.
remove_cgroups() {
  local base
  base=$(ns "$1")
  for h in "$CGROUPS"/*/; do
    [ -d "$h$base" ] || continue
    find "$h$base" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

pid_of() { local f; f=$(dir_of "$1")/docker.pid; if [ -f "$f" ]; then cat "$f" 2>/dev/null || true; fi; }

# After the nodes' dockerd had their chance to stop cleanly (see down).
down_node() {
  local k=$1 d
  d=$(dir_of "$k")
  kill_node "$k"
  unmount_under "$(exec_root_of "$k")"
  unmount_under "$d"
  ip netns del "$(ns "$k")" 2>/dev/null || true
  remove_cgroups "$k"
  rm -rf "$(exec_root_of "$k")"
  rm -f "$d/docker.pid" "$d/docker.sock"
}

down() {
  local purge=${1:-} k nodes
  # Every node any run left a trace of: a state dir, a namespace, a cgroup.
  nodes=$(
    {
      for d in "$STATE"/node[0-9]* "$CGROUPS"/pids/"$PREFIX"[0-9]*; do [ -e "$d" ] && echo "${d##*[!0-9]}"; done
      ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$PREFIX\([0-9][0-9]*\)$/\1/p"
    } | sort -un
  )
  # SIGTERM every dockerd at once and give them 3 s: a clean stop takes its
  # containers' mounts and namespaces with it. Not longer: a dockerd stopping
  # waits out each container's stop grace period (an engine that ignores
  # SIGTERM costs 10 s); whatever is left is killed, and its mounts undone.
  local pids=() pid
  for k in $nodes; do pid=$(pid_of "$k"); alive "$pid" && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }; done
  for _ in $(seq 1 30); do
    local any=""
    for pid in "${pids[@]}"; do alive "$pid" && any=1; done
    [ -z "$any" ] && break
    sleep 0.1
  done
  for k in $nodes; do down_node "$k"; done
  ip netns del "$HUB" 2>/dev/null || true # takes the bridge and the hub ends of the veths with it
  [ "$purge" = --purge ] && { unmount_under "$STATE"; rm -rf "$STATE"; }
  # Nothing may survive: no process of a node, no namespace.
  local left
  left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX([0-9]+|-hub)$" || true)
  [ -z "$left" ] || die "namespaces left behind: $left"
  for k in $nodes; do [ -z "$(node_pids "$k")" ] || die "node $k: processes left behind"; done
  say "down in $(since "$t0") s"
}

# ---------------------------------------------------------------- up

start_node() {
  local k=$1 d log name
  d=$(dir_of "$k")
  name=$(ns "$k")
  log=$LOGS/swarm-node-$k.log
  # A fresh node every time: an old data root would bring back an old swarm.
  rm -rf "$d/data"
  mkdir -p "$d/data" "$LOGS"
  for h in pids freezer; do mkdir -p "$CGROUPS/$h/$name"; done
  echo "---- $(date -Is) up" >>"$log"
  # The shell puts itself in the node's cgroups and a UTS namespace of its own
  # (so the node's hostname is its own), then becomes dockerd: $! is dockerd.
  # shellcheck disable=SC2016 # the script is the node shell's own: $$ and $1.. expand there, not here
  nsenter --net="/var/run/netns/$name" -- unshare --uts -- sh -c '
    echo $$ >"$1/pids/$2/cgroup.procs"; echo $$ >"$1/freezer/$2/cgroup.procs"
    hostname "rtm-node-$3"
    shift 3
    exec env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd "$@"' sh "$CGROUPS" "$name" "$k" \
    --data-root "$d/data" \
    --exec-root "$(exec_root_of "$k")" \
    --pidfile "$d/docker.pid" \
    -H "unix://$(sock_of "$k")" \
    --containerd-namespace "$name" \
    --cgroup-parent "/$name" \
    --dns "$NET3.1" \
    --log-level info \
    </dev/null >>"$log" 2>&1 9>&- & # 9: the lock, not to be held by the node
}

wait_node() {
  local k=$1 DK_TIMEOUT=5
  for _ in $(seq 1 300); do
    dk "$k" version >/dev/null 2>&1 && return 0
    [ -f "$(dir_of "$k")/docker.pid" ] && ! alive "$(cat "$(dir_of "$k")/docker.pid" 2>/dev/null)" && break
    sleep 0.1
  done
  tail -n 20 "$LOGS/swarm-node-$k.log" >&2
  die "node $k: dockerd did not answer on $(sock_of "$k")"
}

healthy() { # healthy N: N nodes answer, swarm has N Ready nodes, the overlay exists
  local n=$1 k DK_TIMEOUT=10
  for k in $(seq 1 "$n"); do dk "$k" version >/dev/null 2>&1 || return 1; done
  [ "$(dk 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" = "$n" ] || return 1
  [ "$(dk 1 node ls -q 2>/dev/null | wc -l)" = "$n" ] || return 1
  dk 1 network inspect "$OVERLAY" >/dev/null 2>&1 || return 1
  for k in $(seq $((n + 1)) $MAX_NODES); do [ ! -S "$(sock_of "$k")" ] || return 1; done
}

load_images() {
  local n=$1 k images tar=$STATE/images.tar
  if ! docker image inspect galaxy-test-engine:labelled >/dev/null 2>&1; then bash scripts/build-test-images.sh; fi
  images=$(docker images --format '{{.Repository}}:{{.Tag}}' 'galaxy-test-engine' | sort)
  # shellcheck disable=SC2086 # one image a word (a name:tag has no space)
  docker save -o "$tar" $images
  local pids=()
  for k in $(seq 1 "$n"); do dk "$k" load -q -i "$tar" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || die "image load failed"; done
}

write_env() {
  local n=$1 k
  {
    echo "RTM_SWARM_NODES=$n"
    echo "RTM_SWARM_OVERLAY=$OVERLAY"
    echo "RTM_SWARM_MANAGER_SOCK=$(sock_of 1)"
    for k in $(seq 1 "$n"); do
      echo "RTM_SWARM_NODE_${k}_SOCK=$(sock_of "$k")"
      echo "RTM_SWARM_NODE_${k}_ADDR=$(ip_of "$k")"
      echo "RTM_SWARM_NODE_${k}_PIDFILE=$(dir_of "$k")/docker.pid"
    done
  } >"$STATE/nodes.env"
}

up() {
  local n=${1:-3} k t
  [[ "$n" =~ ^[23]$ ]] || die "N must be 2 or 3"
  need_tools
  mkdir -p "$STATE" "$LOGS"
  if healthy "$n"; then
    say "already up ($n nodes)"
    load_images "$n"; write_env "$n"
    return
  fi
  # Whatever a crashed run left (stale pids, namespaces, mounts): gone first.
  down >/dev/null
  t0=$(now)

  t=$(now)
  ip netns add "$HUB"
  ip -n "$HUB" link set lo up
  ip -n "$HUB" link add br0 type bridge
  ip -n "$HUB" addr add "$NET3.1/24" dev br0
  ip -n "$HUB" link set br0 up
  check_kernel
  for k in $(seq 1 "$n"); do
    ip netns add "$(ns "$k")"
    ip -n "$(ns "$k")" link set lo up
    ip -n "$HUB" link add "veth$k" type veth peer name eth0 netns "$(ns "$k")"
    ip -n "$HUB" link set "veth$k" master br0 up
    ip -n "$(ns "$k")" addr add "$(ip_of "$k")/24" dev eth0
    ip -n "$(ns "$k")" link set eth0 up
  done
  say "namespaces and bridge: $(since "$t") s"

  t=$(now)
  for k in $(seq 1 "$n"); do start_node "$k"; done
  for k in $(seq 1 "$n"); do wait_node "$k"; done
  say "$n dockerd answering: $(since "$t") s"

  t=$(now)
  dk 1 swarm init --advertise-addr "$(ip_of 1)" --listen-addr "$(ip_of 1):2377" \
    --dispatcher-heartbeat "$HEARTBEAT" --default-addr-pool "$POOL" --default-addr-pool-mask-length 24 >/dev/null
  local token
  token=$(dk 1 swarm join-token -q worker)
  local pids=()
  for k in $(seq 2 "$n"); do
    dk "$k" swarm join --token "$token" --advertise-addr "$(ip_of "$k")" --listen-addr "$(ip_of "$k"):2377" "$(ip_of 1):2377" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "a node could not join the swarm"; done
  local ready=0
  for _ in $(seq 1 600); do
    ready=$(dk 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$' || true)
    [ "$ready" = "$n" ] && break
    sleep 0.1
  done
  [ "$ready" = "$n" ] || { dk 1 node ls >&2; die "only $ready of $n nodes Ready after 60 s"; }
  say "swarm of $n Ready (heartbeat $HEARTBEAT): $(since "$t") s"

  t=$(now)
  dk 1 network create -d overlay --attachable --subnet "$OVERLAY_SUBNET" --label com.galaxy.owner=rtmanager "$OVERLAY" >/dev/null
  load_images "$n"
  write_env "$n"
  say "overlay $OVERLAY and images: $(since "$t") s"
  say "up in $(since "$t0") s"
  dk 1 node ls
}

status() {
  local k
  ip netns list | grep -E "^$PREFIX" || true
  for k in $(seq 1 $MAX_NODES); do
    [ -S "$(sock_of "$k")" ] || continue
    echo "node $k ($(ip_of "$k")): $(dk "$k" info --format '{{.Swarm.LocalNodeState}} {{.Name}}' 2>&1)"
  done
  dk 1 node ls 2>/dev/null || true
}

# One run of this script at a time on the machine: the namespace names are the machine's.
exec 9>/run/rtmn.lock
flock -w 300 9 || die "another swarm-nodes.sh holds /run/rtmn.lock"

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down "${2:-}" ;;
  status) status ;;
  kill) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "kill K"; t=$(now); kill_node "$2"; say "node $2 killed in $(since "$t") s" ;;
  *) die "usage: $0 up [2|3] | down [--purge] | status | kill K" ;;
esac
