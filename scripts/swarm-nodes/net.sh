# shellcheck shell=bash
# The network of scripts/swarm-nodes.sh: the tools it needs, a "hub" namespace
# with a bridge, and one namespace per node wired to it by a veth pair.

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

make_network() { # make_network N: the hub and its bridge, then N node namespaces on it
  local n=$1 k
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
}
