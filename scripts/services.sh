#!/usr/bin/env bash
# Provision and start the services adpipe's test suite talks to, without systemd or Docker.
#
#   bash scripts/services.sh                      # all services
#   bash scripts/services.sh --only postgres,redis
#
# For every service: if it answers, say so; if it is installed but stopped, start it and wait
# (bounded) until it answers; if it is missing, install the Debian package (apt-get update runs at
# most once), configure it the way the tests expect, start it and wait. Idempotent: re-running on a
# provisioned machine only probes. See docs/services.md for ports and details.
set -euo pipefail

ALL_SERVICES=(mariadb postgres redis nats clickhouse chromium)
WAIT_SECONDS="${ADPIPE_SERVICES_WAIT:-60}"
CH_DIR=/var/lib/adpipe-clickhouse
SCRIPT_START=$(date +%s%N)

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf '[services %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}
elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

usage() {
  cat <<EOF
usage: bash scripts/services.sh [--only name[,name...]]
services: ${ALL_SERVICES[*]} (aliases: mysql=mariadb, postgresql/pg=postgres, chrome=chromium)
env: ADPIPE_SERVICES_WAIT (seconds to wait for a started service, default 60)
EOF
}

canonical_name() {
  case "$1" in
  mariadb | mysql) echo mariadb ;;
  postgres | postgresql | pg) echo postgres ;;
  redis) echo redis ;;
  nats | jetstream) echo nats ;;
  clickhouse | ch) echo clickhouse ;;
  chromium | chrome) echo chromium ;;
  *) return 1 ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# arguments
SELECTED=("${ALL_SERVICES[@]}")
while [ $# -gt 0 ]; do
  case "$1" in
  --only | --only=*)
    if [ "$1" = --only ]; then
      [ $# -ge 2 ] || die "--only needs a comma-separated list of services"
      list="$2"
      shift
    else
      list="${1#--only=}"
    fi
    SELECTED=()
    IFS=',' read -r -a names <<<"$list"
    for n in "${names[@]}"; do
      [ -n "$n" ] || continue
      c=$(canonical_name "$n") || die "unknown service '$n' (known: ${ALL_SERVICES[*]})"
      SELECTED+=("$c")
    done
    [ ${#SELECTED[@]} -gt 0 ] || die "--only got an empty list"
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    die "unknown argument '$1'"
    ;;
  esac
  shift
done

# ---------------------------------------------------------------------------------------------
# helpers
if [ "$(id -u)" -eq 0 ]; then
  AS_ROOT=()
elif command -v sudo >/dev/null 2>&1; then
  AS_ROOT=(sudo -n)
else
  AS_ROOT=(__not_root__)
fi
as_root() {
  if [ "${AS_ROOT[0]:-}" = __not_root__ ]; then
    die "need root (or passwordless sudo) to run: $*"
  fi
  "${AS_ROOT[@]}" "$@"
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand (this script targets Debian 12)"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" </dev/null ||
    die "apt-get install $* failed"
}

# tcp_open PORT: true when something accepts a TCP connection on 127.0.0.1:PORT within 2 s.
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_for NAME CHECK_FUNCTION: poll until CHECK_FUNCTION succeeds, at most WAIT_SECONDS.
wait_for() {
  local name="$1" check="$2" t0 deadline
  t0=$(date +%s%N)
  deadline=$(($(date +%s) + WAIT_SECONDS))
  until "$check"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      die "$name did not answer within ${WAIT_SECONDS}s after start (see its log: $3)"
    fi
    sleep 0.5
  done
  log "$name answers (waited $(elapsed_ms "$t0") ms)"
}

who_listens() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -E 's/.*users:\(\("([^"]+)",pid=([0-9]+).*/\1 (pid \2)/' | head -1 || true
}

# ---------------------------------------------------------------------------------------------
# MariaDB: root with empty password over TCP 127.0.0.1:3306, database `test`.
mariadb_client() { command -v mariadb || command -v mysql; }
mariadb_answers() { tcp_open 3306; }
mariadb_ready() {
  local cli
  cli=$(mariadb_client) || return 1
  "$cli" --protocol=TCP -h 127.0.0.1 -P 3306 -u root --connect-timeout=3 -e 'SELECT 1' test >/dev/null 2>&1
}
mariadb_configure() {
  local cli
  cli=$(mariadb_client) || die "MariaDB client (mariadb) missing: apt-get install mariadb-client"
  log "mariadb: configuring root@127.0.0.1/localhost with empty password and database 'test' (via unix socket)"
  as_root "$cli" -u root <<'SQL' || die "mariadb: could not configure root/test over the unix socket"
CREATE DATABASE IF NOT EXISTS test;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
FLUSH PRIVILEGES;
SQL
}
ensure_mariadb() {
  if mariadb_answers; then
    log "mariadb: answering on 127.0.0.1:3306"
  else
    if [ ! -x /usr/sbin/mariadbd ]; then
      log "mariadb: not installed"
      apt_install mariadb-server mariadb-client
    fi
    if mariadb_answers; then
      log "mariadb: answering on 127.0.0.1:3306 (started by its package)"
    else
      log "mariadb: installed but stopped; starting"
      as_root install -d -o mysql -g mysql -m 0755 /run/mysqld
      as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
      wait_for mariadb mariadb_answers "/var/log/mysql/error.log or syslog"
    fi
  fi
  if mariadb_ready; then
    log "mariadb: root@127.0.0.1 (no password) can use database 'test'"
  else
    mariadb_configure
    mariadb_ready || die "mariadb: still cannot connect as root (no password) to 127.0.0.1:3306/test"
    log "mariadb: configured"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: trust auth for 127.0.0.1/::1, user postgres, database `test`.
pg_version() {
  # Newest cluster configuration, or newest installed server when no cluster exists yet.
  local v
  v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$v" ] || v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)
  echo "$v"
}
pg_answers() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2 >/dev/null 2>&1; }
pg_ready() {
  PGCONNECT_TIMEOUT=3 psql -w -X -q -A -t "postgres://postgres@127.0.0.1:5432/test" -c 'SELECT 1' \
    </dev/null >/dev/null 2>&1
}
pg_configure() {
  local v hba
  v=$(pg_version)
  hba="/etc/postgresql/$v/main/pg_hba.conf"
  [ -f "$hba" ] || die "postgres: $hba not found"
  if ! grep -q '^# adpipe-test: trust local TCP' "$hba"; then
    log "postgres: prepending trust rules for 127.0.0.1/32 and ::1/128 to $hba"
    as_root sed -i '1i # adpipe-test: trust local TCP (scripts/services.sh)\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main reload
    sleep 0.5
  fi
  if ! as_root runuser -u postgres -- psql -X -q -A -t -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'test'" </dev/null | grep -q 1; then
    log "postgres: creating database 'test'"
    as_root runuser -u postgres -- createdb test </dev/null || die "postgres: createdb test failed"
  fi
}
ensure_postgres() {
  if pg_answers; then
    log "postgres: answering on 127.0.0.1:5432"
  else
    if [ -z "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ]; then
      log "postgres: not installed"
      apt_install postgresql postgresql-client
    fi
    local v
    v=$(pg_version)
    [ -n "$v" ] || die "postgres: no PostgreSQL version found under /usr/lib/postgresql"
    if [ ! -d "/etc/postgresql/$v/main" ]; then
      log "postgres: creating cluster $v/main"
      as_root pg_createcluster "$v" main
    fi
    if pg_answers; then
      log "postgres: answering on 127.0.0.1:5432 (started by its package)"
    else
      log "postgres: installed but stopped; starting cluster $v/main"
      as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start
      wait_for postgres pg_answers "/var/log/postgresql/postgresql-$v-main.log"
    fi
  fi
  if pg_ready; then
    log "postgres: postgres@127.0.0.1 (trust) can use database 'test'"
  else
    pg_configure
    pg_ready || die "postgres: still cannot connect to postgres://postgres@127.0.0.1:5432/test without a password"
    log "postgres: configured"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis on 127.0.0.1:6379, no persistence.
redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]
  else
    tcp_open 6379
  fi
}
ensure_redis() {
  if redis_answers; then
    log "redis: answering on 127.0.0.1:6379"
    return
  fi
  if [ ! -x /usr/bin/redis-server ]; then
    log "redis: not installed"
    apt_install redis-server
  fi
  if redis_answers; then
    log "redis: answering on 127.0.0.1:6379 (started by its package)"
    return
  fi
  log "redis: installed but stopped; starting"
  as_root install -d -m 0750 /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis redis_answers /var/log/redis/ci.log
}

# ---------------------------------------------------------------------------------------------
# NATS with JetStream on 127.0.0.1:4222. The server's INFO line tells whether JetStream is on.
NATS_INFO=""
nats_info() {
  NATS_INFO=""
  local line
  exec 3<>/dev/tcp/127.0.0.1/4222 || return 1
  if IFS= read -r -t 2 line <&3; then NATS_INFO="$line"; fi
  exec 3<&- 3>&-
  [[ "$NATS_INFO" == INFO* ]]
}
nats_answers() { nats_info 2>/dev/null; }
ensure_nats() {
  if ! nats_answers; then
    if [ ! -x /usr/sbin/nats-server ]; then
      log "nats: not installed"
      apt_install nats-server
    fi
    if ! nats_answers; then
      log "nats: installed but stopped; starting with JetStream (-js)"
      as_root install -d -m 0750 /var/lib/nats-server
      as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
      wait_for nats nats_answers /var/log/nats-server.log
    fi
  fi
  if [[ "$NATS_INFO" == *'"jetstream":true'* ]]; then
    local ver
    ver=$(sed -E 's/.*"version":"([^"]+)".*/\1/' <<<"$NATS_INFO")
    log "nats: answering on 127.0.0.1:4222 (nats-server $ver, JetStream enabled)"
  else
    die "nats: a server answers on 127.0.0.1:4222 but JetStream is OFF; restart it with -js (see docs/services.md)"
  fi
}

# ---------------------------------------------------------------------------------------------
# ClickHouse (Debian's clickhouse-server) with our own config under $CH_DIR, HTTP 8123 + native 9000.
ch_version() { curl -sf --max-time 3 'http://127.0.0.1:8123/?query=SELECT%20version()' 2>/dev/null; }
ch_answers() { ch_version >/dev/null; }
ch_write_config() {
  as_root install -d -o clickhouse -g clickhouse -m 0750 \
    "$CH_DIR" "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas" "$CH_DIR/log"
  as_root tee "$CH_DIR/config.xml" >/dev/null <<EOF
<?xml version="1.0"?>
<!-- Written by adpipe scripts/services.sh (overwritten on every start). Standalone test server. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$CH_DIR/log/clickhouse-server.log</log>
        <errorlog>$CH_DIR/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>8123</http_port>
    <tcp_port>9000</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <users_config>$CH_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
  as_root tee "$CH_DIR/users.xml" >/dev/null <<'EOF'
<?xml version="1.0"?>
<!-- Written by adpipe scripts/services.sh. User `default`, no password, loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
  as_root chown clickhouse:clickhouse "$CH_DIR/config.xml" "$CH_DIR/users.xml"
}
ensure_clickhouse() {
  local v
  if v=$(ch_version); then
    log "clickhouse: answering on http://127.0.0.1:8123 (version $v)"
    return
  fi
  if [ ! -x /usr/sbin/clickhouse-server ] || ! command -v clickhouse-client >/dev/null 2>&1; then
    log "clickhouse: not installed"
    apt_install clickhouse-server clickhouse-client
  fi
  if v=$(ch_version); then
    log "clickhouse: answering on http://127.0.0.1:8123 (version $v, started by its package)"
    return
  fi
  local port who
  for port in 8123 9000; do
    if tcp_open "$port"; then
      who=$(who_listens "$port" || true)
      die "clickhouse: port $port is taken by ${who:-another process} which is not ClickHouse; free it first"
    fi
  done
  log "clickhouse: installed but stopped; starting with $CH_DIR/config.xml"
  ch_write_config
  as_root start-stop-daemon --start --oknodo --background --chuid clickhouse:clickhouse --chdir "$CH_DIR" \
    --pidfile "$CH_DIR/clickhouse-server.pid" --make-pidfile \
    --exec /usr/sbin/clickhouse-server -- --config-file="$CH_DIR/config.xml"
  wait_for clickhouse ch_answers "$CH_DIR/log/clickhouse-server.err.log"
  log "clickhouse: version $(ch_version)"
}

# ---------------------------------------------------------------------------------------------
# Chromium for headless browser tests (playwright-core, executablePath /usr/bin/chromium).
chromium_smoke() {
  timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank 2>/dev/null |
    grep -q '<body>'
}
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    log "chromium: not installed"
    apt_install chromium
  fi
  [ -x /usr/bin/chromium ] || die "chromium: /usr/bin/chromium missing after install"
  chromium_smoke || die "chromium: 'chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank' failed"
  log "chromium: present and renders headless ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
}

# ---------------------------------------------------------------------------------------------
log "checking: ${SELECTED[*]}"
for svc in "${SELECTED[@]}"; do
  t0=$(date +%s%N)
  "ensure_$svc"
  log "$svc: ok ($(elapsed_ms "$t0") ms)"
done
log "all requested services ready in $(elapsed_ms "$SCRIPT_START") ms"
