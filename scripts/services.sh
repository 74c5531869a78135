#!/usr/bin/env bash
# Bring up PostgreSQL and RabbitMQ on localhost for a production AiiDA profile (core.psql_dos + core.rabbitmq),
# idempotently, without systemd.
#
#   scripts/services.sh                  start (apt-get install postgresql rabbitmq-server when root and missing)
#   scripts/services.sh status           exit 0 when both answer and RabbitMQ's consumer_timeout is disabled
#   scripts/services.sh stop             stop RabbitMQ and the PostgreSQL cluster
#   scripts/services.sh restart-broker   stop RabbitMQ and start it again (what the load test does mid-run)
#
# PostgreSQL: Debian's first cluster (`pg_lsclusters`; one is created when there is none), started with
# pg_ctlcluster, listening on localhost. RabbitMQ: `rabbitmq-server -detached` as the rabbitmq user, with
# /etc/rabbitmq/advanced.config setting consumer_timeout to undefined: from RabbitMQ 3.8.15 a consumer that holds a
# task longer than the timeout (30 min by default) is cut off, and AiiDA's long processes lose their task (AiiDA's
# docs). The script checks the running node's value with `rabbitmqctl eval` and restarts a node that still has one.
# A config file not written by this script is left alone (the check still applies).
# Exit status 0 when both services are up; otherwise non-zero with the reason on the last line of stderr.
set -uo pipefail

RABBIT_CONF_DIR=/etc/rabbitmq
ADVANCED=$RABBIT_CONF_DIR/advanced.config
MARKER="%% written by aiida-grace scripts/services.sh"
LOG_DIR=/var/log/rabbitmq
WAIT_S=${SERVICES_WAIT_S:-90}

fail() { echo "services: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# -- PostgreSQL ---------------------------------------------------------------------------------------------------
pg_cluster() { pg_lsclusters -h 2>/dev/null | head -n 1; }   # "15 main 5432 online postgres ..."
pg_port() { local c; c=$(pg_cluster); echo "${c:+$(echo "$c" | awk '{print $3}')}"; }
pg_up() { local port; port=$(pg_port); pg_isready -q -h localhost -p "${port:-5432}" 2>/dev/null; }

# -- RabbitMQ -----------------------------------------------------------------------------------------------------
rabbit_running() { is_root && rabbitmqctl -q status >/dev/null 2>&1; }
rabbit_timeout() { rabbitmqctl -q eval 'application:get_env(rabbit, consumer_timeout).' 2>/dev/null | tr -d '[:space:]'; }
timeout_disabled() { case "$(rabbit_timeout)" in '{ok,undefined}'|undefined) return 0;; *) return 1;; esac; }
rabbit_port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

rabbit_stop() {
  rabbit_running || return 0
  rabbitmqctl -q stop >/dev/null 2>&1 || rabbitmqctl -q shutdown >/dev/null 2>&1
  for _ in $(seq 30); do rabbit_running || return 0; sleep 1; done
}

rabbit_start() {
  rabbit_running && return 0
  mkdir -p "$LOG_DIR"; chown rabbitmq: "$LOG_DIR" 2>/dev/null
  rabbitmq-server -detached >/dev/null 2>&1
  for _ in $(seq "$WAIT_S"); do
    rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1 && return 0
    sleep 1
  done
  fail "rabbitmq-server did not start within ${WAIT_S} s: $(tail -n 2 "$LOG_DIR"/*.log 2>/dev/null | tr '\n' ' ')"
}

status() {
  local problems=()
  pg_up || problems+=("PostgreSQL does not answer on localhost:$(pg_port)")
  if is_root; then
    if ! rabbit_running; then problems+=("RabbitMQ is not running")
    elif ! timeout_disabled; then problems+=("RabbitMQ consumer_timeout is $(rabbit_timeout), not undefined")
    fi
  elif ! rabbit_port_open; then problems+=("RabbitMQ does not answer on localhost:5672")
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    echo "services: up (PostgreSQL localhost:$(pg_port), RabbitMQ localhost:5672$(is_root && echo ', consumer_timeout undefined'))"
    return 0
  fi
  local joined; joined=$(printf '; %s' "${problems[@]}"); echo "services: ${joined:2}" >&2; return 1
}

case "${1:-start}" in
  status) status; exit $?;;
  stop)
    is_root || fail "stopping the services needs root"
    rabbit_stop
    cluster=$(pg_cluster)
    [ -n "$cluster" ] && pg_ctlcluster $(echo "$cluster" | awk '{print $1, $2}') stop >/dev/null 2>&1
    echo "services: stopped"; exit 0;;
  restart-broker)
    is_root || fail "restarting RabbitMQ needs root"
    rabbit_stop; rabbit_start
    timeout_disabled || fail "RabbitMQ restarted but consumer_timeout is $(rabbit_timeout), not undefined"
    echo "services: RabbitMQ restarted"; exit 0;;
  start) ;;
  *) fail "unknown command '$1' (start, status, stop, restart-broker)";;
esac

if status >/dev/null 2>&1; then status; exit 0; fi

# -- install -------------------------------------------------------------------------------------------------------
missing=()
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  is_root || fail "${missing[*]} not installed and not root: cannot apt-get install them"
  command -v apt-get >/dev/null || fail "${missing[*]} not installed and no apt-get (not Debian)"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}") >/tmp/services_apt.log 2>&1 \
    || fail "apt-get install ${missing[*]} failed: $(tail -n 2 /tmp/services_apt.log | tr '\n' ' ')"
fi
is_root || { status; fail "PostgreSQL/RabbitMQ are installed but not running, and starting them needs root"; }

# -- PostgreSQL ----------------------------------------------------------------------------------------------------
if [ -z "$(pg_cluster)" ]; then
  version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
  [ -n "$version" ] || fail "no PostgreSQL server under /usr/lib/postgresql"
  pg_createcluster --locale C.UTF-8 "$version" main >/tmp/services_pg.log 2>&1 \
    || fail "pg_createcluster $version main failed: $(tail -n 2 /tmp/services_pg.log | tr '\n' ' ')"
fi
if ! pg_up; then
  read -r version name _ <<<"$(pg_cluster)"
  pg_ctlcluster "$version" "$name" start >/tmp/services_pg.log 2>&1 \
    || fail "pg_ctlcluster $version $name start failed: $(tail -n 2 /tmp/services_pg.log | tr '\n' ' ')"
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  pg_up || fail "PostgreSQL $version/$name started but does not answer on localhost:$(pg_port)"
fi

# -- RabbitMQ: consumer_timeout disabled, then the node -------------------------------------------------------------
mkdir -p "$RABBIT_CONF_DIR"
if [ ! -f "$ADVANCED" ] || grep -qF "$MARKER" "$ADVANCED"; then
  printf '%s\n[{rabbit, [{consumer_timeout, undefined}]}].\n' "$MARKER" > "$ADVANCED"
fi
rabbit_start
if ! timeout_disabled; then  # a node started before the config was written, or another config
  rabbit_stop; rabbit_start
  timeout_disabled || fail "RabbitMQ consumer_timeout is $(rabbit_timeout), not undefined (see $ADVANCED)"
fi

status || fail "services not up after starting them"
