# shellcheck shell=bash
# What every service of scripts/services.sh uses: messages, installing a Debian
# package when a command is missing, and waiting (bounded) for an answer.

WAIT_SECONDS=${RTM_SERVICES_WAIT_SECONDS:-60}

mkdir -p "$VAR/log"
say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
need_pkg() { # need_pkg <command-or-path> <debian package>
  if command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; then return 0; fi
  [ "$(id -u)" = 0 ] || die "$2 is missing and we are not root to install it"
  command -v apt-get >/dev/null || die "$2 is missing and this is not a Debian machine"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >"$VAR/log/apt.log" 2>&1 || die "apt-get update failed (see $VAR/log/apt.log)"
    APT_UPDATED=1
  fi
  say "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >>"$VAR/log/apt.log" 2>&1 || die "apt-get install $2 failed (see $VAR/log/apt.log)"
}

wait_for() { # wait_for <name> <log> <command...>
  local name=$1 log=$2; shift 2
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name did not answer within ${WAIT_SECONDS}s (log: $log)"
    sleep 0.5
  done
}

report() { # report <name> <command...>: "<name> up" if the command succeeds, else "<name> down"
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then say "$name up"; else say "$name down"; fi
}
