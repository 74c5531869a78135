#!/usr/bin/env bash
# An SSH server on this machine for a "remote" AiiDA computer (transport core.ssh), idempotently.
#
#   scripts/sshd_localhost.sh          start (apt-get install openssh-server when root and missing), check a login
#   scripts/sshd_localhost.sh status   exit 0 when a login with the client key works
#   scripts/sshd_localhost.sh stop     stop the sshd this script started
#   scripts/sshd_localhost.sh key      print the client key's path
#
# Its own sshd, beside any system one: config and host key under /etc/aiida-grace-sshd, listening on 127.0.0.1 only,
# port AIIDA_GRACE_SSH_PORT (default 2222, so that a system sshd on 22 is left alone), public keys only.
# The client key is ~/.ssh/aiida_grace_ed25519 (no passphrase), authorised once in ~/.ssh/authorized_keys;
# the server's host key goes into /etc/aiida-grace-sshd/known_hosts, which the login check uses.
# Exit status 0 when `ssh -i KEY -p PORT -o BatchMode=yes localhost true` works; otherwise non-zero with the
# reason on the last line of stderr.
set -uo pipefail

PORT=${AIIDA_GRACE_SSH_PORT:-2222}
DIR=/etc/aiida-grace-sshd
CONFIG=$DIR/sshd_config
HOST_KEY=$DIR/ssh_host_ed25519_key
KNOWN_HOSTS=$DIR/known_hosts
PIDFILE=/run/aiida-grace-sshd.pid
LOG=/var/log/aiida-grace-sshd.log
KEY=$HOME/.ssh/aiida_grace_ed25519
AUTHORIZED=$HOME/.ssh/authorized_keys

fail() { echo "sshd_localhost: $*" >&2; exit 1; }

login() {
  timeout 20 ssh -i "$KEY" -p "$PORT" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=5 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS" localhost true 2>&1
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-start}" in
  status) out=$(login) && { echo "sshd_localhost: up (localhost:$PORT, key $KEY)"; exit 0; }
          fail "no login on localhost:$PORT with $KEY: ${out:-ssh failed}";;
  stop) running && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; exit 0;;
  key) echo "$KEY"; exit 0;;
  start) ;;
  *) fail "unknown command '$1' (start, status, stop, key)";;
esac

command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing=1
if [ -n "${missing:-}" ] || [ ! -x /usr/sbin/sshd ]; then
  [ "$(id -u)" = 0 ] || fail "sshd (openssh-server) not installed and not root: cannot apt-get install it"
  command -v apt-get >/dev/null || fail "sshd (openssh-server) not installed and no apt-get (not Debian)"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-server openssh-client) \
    >/tmp/sshd_apt.log 2>&1 \
    || fail "apt-get install openssh-server failed: $(tail -n 2 /tmp/sshd_apt.log | tr '\n' ' ')"
  [ -x /usr/sbin/sshd ] || fail "openssh-server installed but /usr/sbin/sshd is missing"
fi

# the client key, authorised once
mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh" || fail "cannot create $HOME/.ssh"
if [ ! -s "$KEY" ]; then
  ssh-keygen -q -t ed25519 -N "" -C "aiida-grace@$(hostname -s)" -f "$KEY" || fail "ssh-keygen of $KEY failed"
fi
[ -s "$KEY.pub" ] || ssh-keygen -y -f "$KEY" > "$KEY.pub" || fail "cannot write $KEY.pub"
touch "$AUTHORIZED" && chmod 600 "$AUTHORIZED"
grep -qxF "$(cat "$KEY.pub")" "$AUTHORIZED" || cat "$KEY.pub" >> "$AUTHORIZED"

if out=$(login); then echo "sshd_localhost: already up (localhost:$PORT, key $KEY)"; exit 0; fi
[ "$(id -u)" = 0 ] || fail "no sshd answers on localhost:$PORT, and starting one needs root"

# our sshd: host key, config, daemon
mkdir -p "$DIR" /run/sshd && chmod 755 "$DIR" /run/sshd
[ -s "$HOST_KEY" ] || ssh-keygen -q -t ed25519 -N "" -f "$HOST_KEY" || fail "ssh-keygen of the host key failed"
echo "[localhost]:$PORT $(cut -d' ' -f1,2 "$HOST_KEY.pub")" > "$KNOWN_HOSTS"
cat > "$CONFIG" <<CONF
# written by aiida-grace scripts/sshd_localhost.sh
Port $PORT
ListenAddress 127.0.0.1
HostKey $HOST_KEY
PidFile $PIDFILE
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
MaxSessions 50
MaxStartups 50:30:100
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -t -f "$CONFIG" 2>"$LOG" || fail "sshd -t rejects $CONFIG: $(tail -n 1 "$LOG")"
if running; then kill -HUP "$(cat "$PIDFILE")"  # a changed config or key
else /usr/sbin/sshd -f "$CONFIG" -E "$LOG" || fail "sshd did not start: $(tail -n 2 "$LOG" | tr '\n' ' ')"
fi
for _ in $(seq 20); do
  if out=$(login); then echo "sshd_localhost: up (localhost:$PORT, key $KEY)"; exit 0; fi
  sleep 0.5
done
fail "no login on localhost:$PORT with $KEY: $(echo "$out" | tail -n 1); sshd log: $(tail -n 2 "$LOG" | tr '\n' ' ')"
