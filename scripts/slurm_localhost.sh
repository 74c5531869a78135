#!/usr/bin/env bash
# Bring up a single-node SLURM on this machine (Debian slurm-wlm + munge), idempotently.
#
#   scripts/slurm_localhost.sh          start (install with apt-get when root and missing), wait until idle
#   scripts/slurm_localhost.sh status   exit 0 when a node answers as idle/mixed/allocated
#   scripts/slurm_localhost.sh stop     stop the daemons this script started
#
# One node named after `hostname -s`, one partition `debug`, all CPUs, no accounting, no cgroups
# (proctrack/linuxproc), so it runs in containers. KillWait=5 s: a job over its time limit gets SIGTERM,
# then SIGKILL 5 s later, and slurmstepd writes "CANCELLED AT ... DUE TO TIME LIMIT" to the job's stderr.
# Exit status 0 when SLURM is up; otherwise non-zero with the reason on the last line of stderr.
set -uo pipefail

NODE=$(hostname -s)
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# written by aiida-grace scripts/slurm_localhost.sh"
LOG_DIR=/var/log/slurm
WAIT_S=${SLURM_WAIT_S:-60}

fail() { echo "slurm_localhost: $*" >&2; exit 1; }

is_up() { sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'; }

case "${1:-start}" in
  status) is_up && { echo "slurm_localhost: up"; exit 0; }; fail "not up";;
  stop)
    for daemon in slurmd slurmctld; do
      pidfile=/run/slurm/$daemon.pid
      [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    exit 0;;
  start) ;;
  *) fail "unknown command '$1' (start, status, stop)";;
esac

if is_up; then echo "slurm_localhost: already up (node $NODE)"; exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "slurmctld/munged not installed and not root: cannot apt-get install slurm-wlm munge"
  command -v apt-get >/dev/null || fail "slurmctld/munged not installed and no apt-get (not Debian)"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge) >/tmp/slurm_apt.log 2>&1 \
    || fail "apt-get install slurm-wlm munge failed: $(tail -n 2 /tmp/slurm_apt.log | tr '\n' ' ')"
fi
[ "$(id -u)" = 0 ] || fail "SLURM is installed but not running, and starting slurmd needs root"

# munge: a key, then the daemon (as the munge user when it exists)
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then mungekey --create --force >/dev/null 2>&1; fi
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
MUNGE_USER=$(id -u munge >/dev/null 2>&1 && echo munge || echo root)
chown -R "$MUNGE_USER": /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ "$MUNGE_USER" = munge ]; then runuser -u munge -- munged --force >/dev/null 2>&1
  else munged --force >/dev/null 2>&1; fi
  sleep 1
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || fail "munged does not answer (munge -n | unmunge failed)"
fi

# slurm.conf: ours, or one the administrator wrote (left alone)
mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd "$LOG_DIR" /run/slurm
if [ ! -f "$CONF" ] || grep -qF "$MARKER" "$CONF"; then
  cat > "$CONF" <<EOF
$MARKER
ClusterName=aiidagrace
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=300
SlurmdTimeout=60
NodeName=$NODE CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
  printf 'CgroupPlugin=autodetect\nIgnoreSystemd=yes\n' > "$CONF_DIR/cgroup.conf"
fi

pgrep -x slurmctld >/dev/null || slurmctld || fail "slurmctld did not start: $(tail -n 2 $LOG_DIR/slurmctld.log 2>/dev/null | tr '\n' ' ')"
pgrep -x slurmd >/dev/null || slurmd || fail "slurmd did not start: $(tail -n 2 $LOG_DIR/slurmd.log 2>/dev/null | tr '\n' ' ')"

for _ in $(seq "$WAIT_S"); do
  if is_up; then echo "slurm_localhost: up (node $NODE, $(nproc) CPUs)"; exit 0; fi
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1)
  case "$state" in down*|drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1;; esac
  sleep 1
done
fail "node $NODE not idle after ${WAIT_S} s (state '${state:-none}'); slurmd log: $(tail -n 2 $LOG_DIR/slurmd.log 2>/dev/null | tr '\n' ' ')"
