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
#
# This file holds the settings, `status` and the command line; the rest is
# under scripts/swarm-nodes/: common.sh (helpers), net.sh (namespaces and
# bridge), node.sh (one node's dockerd), up.sh and down.sh.
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

# When this command began: up and down say how long they took.
T0=$(date +%s.%N)

. scripts/swarm-nodes/common.sh
. scripts/swarm-nodes/net.sh
. scripts/swarm-nodes/down.sh
. scripts/swarm-nodes/node.sh
. scripts/swarm-nodes/up.sh

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
