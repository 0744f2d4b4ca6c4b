# shellcheck shell=bash
# Taking the nodes of scripts/swarm-nodes.sh down: `kill` (a node loses its
# power) and `down` (every node any run left a trace of, then the hub).

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
  say "down in $(since "$T0") s"
}
