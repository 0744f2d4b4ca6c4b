#!/usr/bin/env bash
# Builds the local engine images the tests (and the run command's demo) use.
# No registry is reachable: each is FROM scratch with Debian's static busybox.
# An image is rebuilt only when its recipe changed (a hash label says which).
#   scripts/build-test-images.sh [--demo]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /bin/busybox ] || { echo "build-test-images: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }

HTTPD='["/bin/busybox","httpd","-f","-p","8080","-h","/www"]'
LIMITS='com.galaxy.cpu_quota="0.5" com.galaxy.memory="64m" com.galaxy.pids_limit="64"'

build() { # build <tag> <entrypoint json> <label line or empty> [more Dockerfile lines: HEALTHCHECK, STOPSIGNAL] [a directory of test/images copied to /engine]
  local tag=$1 entrypoint=$2 labels=$3 more=${4:-} files=${5:-}
  local ctx; ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  mkdir -p "$ctx/www" && cp test/images/engine/index.html "$ctx/www/index.html"
  if [ -n "$files" ]; then cp -r "test/images/$files" "$ctx/engine"; fi
  {
    echo 'FROM scratch'
    echo 'COPY busybox /bin/busybox'
    echo 'COPY www /www'
    if [ -n "$files" ]; then echo 'COPY engine /engine'; fi
    if [ -n "$labels" ]; then echo "LABEL $labels"; fi
    if [ -n "$more" ]; then echo "$more"; fi
    echo "ENTRYPOINT $entrypoint"
  } >"$ctx/Dockerfile"
  local hash
  if [ -n "$files" ]; then
    hash=$( (cat "$ctx/Dockerfile" "$ctx/www/index.html"; find "$ctx/engine" -type f | sort | xargs cat) | sha256sum | cut -c1-16)
  else
    hash=$(cat "$ctx/Dockerfile" "$ctx/www/index.html" | sha256sum | cut -c1-16)
  fi
  echo "LABEL com.galaxy.test_image_hash=\"$hash\"" >>"$ctx/Dockerfile"
  if [ "$(docker image inspect -f '{{index .Config.Labels "com.galaxy.test_image_hash"}}' "$tag" 2>/dev/null)" = "$hash" ]; then
    rm -rf "$ctx"; return
  fi
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
  echo "build-test-images: built $tag"
}

if [ "${1:-}" = "--demo" ]; then
  build galaxy-demo-engine:latest "$HTTPD" "$LIMITS"
  exit 0
fi
build galaxy-test-engine:labelled "$HTTPD" "$LIMITS"
build galaxy-test-engine:labelled-v2 "$HTTPD" "$LIMITS com.galaxy.variant=\"v2\""
build galaxy-test-engine:plain "$HTTPD" ""
# Unparseable (each falls back to its default); a signed number such as -3 parses, and is refused as below its minimum.
build galaxy-test-engine:badlabels "$HTTPD" 'com.galaxy.cpu_quota="lots" com.galaxy.memory="plenty" com.galaxy.pids_limit="some"'
build galaxy-test-engine:exits '["/bin/busybox","false"]' ""
# Runs, then exits: on a swarm an engine that exits before its task is seen running fails its start instead.
build galaxy-test-engine:exits-later '["/bin/busybox","sh","-c","sleep 2; exit 1"]' ""
# Asks for more than the default ceilings (RTMANAGER_CONTAINER_MAX_MEMORY 8g, _PIDS_LIMIT 4096): a start refuses it.
build galaxy-test-engine:greedy "$HTTPD" 'com.galaxy.memory="1p" com.galaxy.pids_limit="100000"'
# Asks for less than the least limits (contract §14): to Docker, no CPU, memory or pids limit at all. A start refuses it.
build galaxy-test-engine:tiny "$HTTPD" 'com.galaxy.cpu_quota="0.0000000001" com.galaxy.memory="0" com.galaxy.pids_limit="0"'
# Contract §16: keeps one CPU busy, so its stats show the 0.5 CPU its labels give it.
build galaxy-test-engine:busy '["/bin/busybox","sh","-c","while :; do :; done"]' "$LIMITS"
# shellcheck disable=SC2016 # $x is the container shell's, not this one's
build galaxy-test-engine:hog '["/bin/busybox","sh","-c","x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x=$x$x; done"]' 'com.galaxy.memory="8m" com.galaxy.pids_limit="16"'
# Contract §15: healthy while the file `ok` is in the game's state directory (mounted at RTMANAGER_ENGINE_STATE_MOUNT_PATH's
# default), so a test flips its health from the host; the first probe a second after the start, unhealthy after two failures.
build galaxy-test-engine:healthcheck "$HTTPD" "$LIMITS" 'HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD ["/bin/busybox","test","-f","/var/lib/galaxy/engine/ok"]'
# Healthy at its first probe, a second after the start (the bench's health_ready_ratio starts it raw and through the system).
build galaxy-test-engine:healthy "$HTTPD" "$LIMITS" 'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["/bin/busybox","true"]'
# Contract §15, graceful stop. The engine traps SIGINT and SIGUSR1: it writes which one reached it (through the
# init process) into its state directory and exits 0; it ignores SIGTERM, the default a stop would otherwise send.
# It writes `ready` once its traps are set: a signal before that would find none.
# shellcheck disable=SC2016 # the container shell's variables, not this one's
TRAPPER='["/bin/busybox","sh","-c","for s in INT USR1; do trap \"echo $s > \\\"\\$STORAGE_PATH/stopped-by\\\"; exit 0\" $s; done; trap \"\" TERM; echo > \"$STORAGE_PATH/ready\"; while :; do sleep 1 & wait $!; done"]'
build galaxy-test-engine:graceful "$TRAPPER" "$LIMITS com.galaxy.stop_signal=\"int\" com.galaxy.stop_timeout=\"10\""
# No stop label: the image's own STOPSIGNAL is the one sent.
build galaxy-test-engine:graceful-stopsignal "$TRAPPER" "$LIMITS" 'STOPSIGNAL SIGUSR1'
# Ignores its stop signal: the kill comes at its own timeout (3 s, above the tests' configured 1 s), exit 137.
# shellcheck disable=SC2016
build galaxy-test-engine:stubborn '["/bin/busybox","sh","-c","trap \"\" INT TERM; echo > \"$STORAGE_PATH/ready\"; while :; do sleep 1 & wait $!; done"]' \
  "$LIMITS com.galaxy.stop_signal=\"SIGINT\" com.galaxy.stop_timeout=\"3\""
# Asks for a stop longer than the ceiling (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS, 300 by default): a start refuses it.
build galaxy-test-engine:slow-stop "$HTTPD" "$LIMITS com.galaxy.stop_timeout=\"301\""
# Contract §15, crash policy. Each run of the engine adds a line to `starts` in the game's state directory (so a
# test counts real engine starts); two seconds in, it exits 3 within a second of the host creating `crash` there.
# shellcheck disable=SC2016 # the container shell's variables, not this one's
build galaxy-test-engine:crashy '["/bin/busybox","sh","-c","echo >> \"$STORAGE_PATH/starts\"; sleep 2; while :; do [ -f \"$STORAGE_PATH/crash\" ] && exit 3; sleep 1; done"]' "$LIMITS"
# The bench's crash_restart_ratio: exits 3 within 100 ms of the host creating `crash` in its state directory, from its
# first moment, and takes the file away as it goes, so the next run of the same state directory (a restart) stays up
# until the next `crash`. Each run adds a line to `starts`.
# shellcheck disable=SC2016 # the container shell's variables, not this one's
build galaxy-test-engine:crash-on-demand '["/bin/busybox","sh","-c","echo >> \"$STORAGE_PATH/starts\"; while :; do if [ -f \"$STORAGE_PATH/crash\" ]; then rm -f \"$STORAGE_PATH/crash\"; exit 3; fi; sleep 0.1; done"]' "$LIMITS"
# Contract §16: known lines on stdout and stderr at a known rate, a 20,000-character line, bytes that are not
# UTF-8, and a flood of lines on demand (test/images/chatter/chatter.sh says what it writes and when).
build galaxy-test-engine:chatter '["/bin/busybox","sh","/engine/chatter.sh"]' "$LIMITS" "" chatter
