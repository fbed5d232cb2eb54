#!/usr/bin/env bash
# Install, configure and start the services adpipe's test suite talks to, on a bare Debian 12
# machine, as root, without systemd or Docker.
#
#   bash scripts/services.sh                      # all services
#   bash scripts/services.sh --only postgres,kafka
#
# Two phases. First every missing package of the selected services is installed in one
# `apt-get install` (after at most one `apt-get update`), with a policy-rc.d that stops the
# packages from starting their daemons. Then each service is started by us, configured the way
# the tests expect and probed with its own protocol. A service that already answers is only
# probed, so a second run on a provisioned machine takes a few seconds. A service that fails is
# named with the tail of its log; the others are still tried and the script exits non-zero.
# See docs/services.md for ports, versions and how each one runs.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL_SERVICES=(mariadb postgres redis nats clickhouse kafka chromium s3)
WAIT_SECONDS="${ADPIPE_SERVICES_WAIT:-60}"
CH_DIR=/var/lib/adpipe-clickhouse
KAFKA_DIR=/var/lib/adpipe-kafka
S3_DIR=/var/lib/adpipe-s3
KAFKA_POM="$REPO_DIR/scripts/kafka/pom.xml"
# Where Maven copies the broker's jars: git-ignored, reused while the pom is unchanged.
KAFKA_LIB="$REPO_DIR/.services/kafka/lib"
SCRIPT_START=$(date +%s%N)

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf '[services %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}
# die_with_log LOGFILE MESSAGE: fail, showing the last lines of the service's own log.
die_with_log() {
  local file="$1"
  shift
  printf '[services %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  if [ -r "$file" ]; then
    printf '[services] last lines of %s:\n' "$file" >&2
    tail -n 25 "$file" | sed 's/^/    /' >&2
  else
    printf '[services] (no log at %s)\n' "$file" >&2
  fi
  exit 1
}
elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

usage() {
  cat <<USAGE
usage: bash scripts/services.sh [--only name[,name...]]
services: ${ALL_SERVICES[*]} (aliases: mysql=mariadb, postgresql/pg=postgres, ch=clickhouse, chrome=chromium, swift=s3)
env: ADPIPE_SERVICES_WAIT (seconds to wait for a started service, default 60)
USAGE
}

canonical_name() {
  case "$1" in
  mariadb | mysql) echo mariadb ;;
  postgres | postgresql | pg) echo postgres ;;
  redis) echo redis ;;
  nats | jetstream) echo nats ;;
  clickhouse | ch) echo clickhouse ;;
  kafka) echo kafka ;;
  chromium | chrome) echo chromium ;;
  s3 | swift) echo s3 ;;
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

# tcp_open PORT: true when something accepts a TCP connection on 127.0.0.1:PORT within 2 s.
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_for NAME CHECK_FUNCTION LOGFILE: poll until CHECK_FUNCTION succeeds, at most WAIT_SECONDS.
wait_for() {
  local name="$1" check="$2" logfile="$3" t0 deadline
  t0=$(date +%s%N)
  deadline=$(($(date +%s) + WAIT_SECONDS))
  until "$check"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      die_with_log "$logfile" "$name did not answer within ${WAIT_SECONDS}s after start"
    fi
    sleep 0.5
  done
  log "$name answers (waited $(elapsed_ms "$t0") ms)"
}

who_listens() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -E 's/.*users:\(\("([^"]+)",pid=([0-9]+).*/\1 (pid \2)/' | head -1 || true
}

# ports_free NAME PORT...: fail when another process already listens on a port the service needs
# (it did not answer as NAME, so starting ours would only fail later with a vaguer message).
ports_free() {
  local name="$1" port who
  shift
  for port in "$@"; do
    if tcp_open "$port"; then
      who=$(who_listens "$port" || true)
      die "$name: port $port is taken by ${who:-another process} which does not answer as $name; free it first"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Phase 1: packages. Each service names the Debian packages it still lacks (none when it answers
# already, so a machine with the service from elsewhere is left as it is).
missing_packages_mariadb() {
  mariadb_answers && return 0
  [ -x /usr/sbin/mariadbd ] || echo mariadb-server
  command -v mariadb >/dev/null 2>&1 || echo mariadb-client
}
missing_packages_postgres() {
  pg_answers && return 0
  [ -n "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ] || echo postgresql
  command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 || echo postgresql-client
}
missing_packages_redis() {
  command -v redis-cli >/dev/null 2>&1 || echo redis-tools
  redis_answers && return 0
  [ -x /usr/bin/redis-server ] || echo redis-server
}
missing_packages_nats() {
  nats_answers && return 0
  [ -x /usr/sbin/nats-server ] || echo nats-server
}
missing_packages_clickhouse() {
  ch_answers && return 0
  [ -x /usr/sbin/clickhouse-server ] || echo clickhouse-server
  command -v clickhouse-client >/dev/null 2>&1 || echo clickhouse-client
}
missing_packages_kafka() {
  # Java and Maven even when a broker answers: the tests' reference Java client needs the jars.
  command -v kcat >/dev/null 2>&1 || echo kcat
  command -v java >/dev/null 2>&1 || echo openjdk-17-jre-headless
  command -v openssl >/dev/null 2>&1 || echo openssl
  command -v mvn >/dev/null 2>&1 || echo maven
}
missing_packages_chromium() { [ -x /usr/bin/chromium ] || echo chromium; }
missing_packages_s3() {
  s3_answers && return 0
  local p
  # swift carries swift-ring-builder; python3-swift (pulled in) carries the s3api middleware.
  for p in swift swift-proxy swift-object swift-container swift-account memcached; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# A policy-rc.d that answers 101 ("action not allowed") keeps invoke-rc.d from starting the daemons
# the packages install: we start them ourselves, with our own settings. One already there is kept.
POLICY_RC_D=/usr/sbin/policy-rc.d
OUR_POLICY=0
block_daemon_starts() {
  [ -e "$POLICY_RC_D" ] && return 0
  as_root sh -c "printf '#!/bin/sh\n# adpipe scripts/services.sh: no daemon starts while installing\nexit 101\n' > $POLICY_RC_D && chmod 0755 $POLICY_RC_D"
  OUR_POLICY=1
}
allow_daemon_starts() {
  if [ "$OUR_POLICY" -eq 1 ]; then
    as_root rm -f "$POLICY_RC_D"
    OUR_POLICY=0
  fi
}
trap allow_daemon_starts EXIT

install_packages() {
  local pkgs=() svc p t0
  for svc in "${SELECTED[@]}"; do
    while IFS= read -r p; do
      [ -n "$p" ] && pkgs+=("$p")
    done < <("missing_packages_$svc")
  done
  if [ ${#pkgs[@]} -eq 0 ]; then
    log "packages: nothing to install"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${pkgs[*]} by hand (this script targets Debian 12)"
  t0=$(date +%s%N)
  block_daemon_starts
  log "packages: apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null || die "apt-get update failed"
  log "packages: apt-get install ${pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}" </dev/null >/tmp/adpipe-apt.log 2>&1 ||
    die_with_log /tmp/adpipe-apt.log "apt-get install ${pkgs[*]} failed"
  allow_daemon_starts
  log "packages: installed ${#pkgs[@]} in $(elapsed_ms "$t0") ms"
}

# ---------------------------------------------------------------------------------------------
# MariaDB: root with empty password over TCP 127.0.0.1:3306, database `test`.
MARIADB_LOG=/var/log/mysql/error.log
mariadb_answers() { tcp_open 3306; }
mariadb_ready() {
  mariadb --protocol=TCP -h 127.0.0.1 -P 3306 -u root --connect-timeout=3 -e 'SELECT 1' test >/dev/null 2>&1
}
mariadb_configure() {
  log "mariadb: configuring root@127.0.0.1/localhost with empty password and database 'test' (via unix socket)"
  as_root mariadb -u root <<'SQL' || die_with_log "$MARIADB_LOG" "mariadb: could not configure root/test over the unix socket"
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
    [ -x /usr/sbin/mariadbd ] || die "mariadb: /usr/sbin/mariadbd missing (package mariadb-server)"
    log "mariadb: starting"
    as_root install -d -o mysql -g mysql -m 0755 /run/mysqld /var/log/mysql
    # mariadbd refuses to run as root; --user drops to the package's `mysql` user.
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
      --user=mysql --log-error="$MARIADB_LOG"
    wait_for mariadb mariadb_answers "$MARIADB_LOG"
  fi
  if mariadb_ready; then
    log "mariadb: root@127.0.0.1 (no password) can use database 'test'"
  else
    mariadb_configure
    mariadb_ready || die_with_log "$MARIADB_LOG" "mariadb: still cannot connect as root (no password) to 127.0.0.1:3306/test"
    log "mariadb: configured"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: trust auth for 127.0.0.1/::1, user postgres, databases `test` and `postgres`.
pg_version() {
  # Newest cluster configuration, or newest installed server when no cluster exists yet.
  local v
  v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$v" ] || v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)
  echo "$v"
}
pg_log() { echo "/var/log/postgresql/postgresql-$(pg_version)-main.log"; }
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
    as_root runuser -u postgres -- createdb test </dev/null || die_with_log "$(pg_log)" "postgres: createdb test failed"
  fi
}
ensure_postgres() {
  if pg_answers; then
    log "postgres: answering on 127.0.0.1:5432"
  else
    local v
    v=$(pg_version)
    [ -n "$v" ] || die "postgres: no PostgreSQL version found under /usr/lib/postgresql (package postgresql)"
    if [ ! -d "/etc/postgresql/$v/main" ]; then
      log "postgres: creating cluster $v/main"
      as_root pg_createcluster "$v" main
    fi
    log "postgres: starting cluster $v/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || die_with_log "$(pg_log)" "postgres: pg_ctlcluster start failed"
    wait_for postgres pg_answers "$(pg_log)"
  fi
  if pg_ready; then
    log "postgres: postgres@127.0.0.1 (trust) can use database 'test'"
  else
    pg_configure
    pg_ready || die_with_log "$(pg_log)" "postgres: still cannot connect to postgres://postgres@127.0.0.1:5432/test without a password"
    log "postgres: configured"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis on 127.0.0.1:6379, no persistence.
REDIS_LOG=/var/log/redis/ci.log
redis_answers() { [ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
ensure_redis() {
  if redis_answers; then
    log "redis: answering on 127.0.0.1:6379 ($(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*'))"
    return
  fi
  [ -x /usr/bin/redis-server ] || die "redis: /usr/bin/redis-server missing (package redis-server)"
  log "redis: starting"
  as_root install -d -m 0750 /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile "$REDIS_LOG"
  wait_for redis redis_answers "$REDIS_LOG"
}

# ---------------------------------------------------------------------------------------------
# NATS with JetStream on 127.0.0.1:4222. The server's INFO line tells whether JetStream is on.
NATS_LOG=/var/log/nats-server.log
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
    [ -x /usr/sbin/nats-server ] || die "nats: /usr/sbin/nats-server missing (package nats-server)"
    log "nats: starting with JetStream (-js)"
    as_root install -d -m 0750 /var/lib/nats-server
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l "$NATS_LOG"
    wait_for nats nats_answers "$NATS_LOG"
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
  [ -x /usr/sbin/clickhouse-server ] || die "clickhouse: /usr/sbin/clickhouse-server missing (package clickhouse-server)"
  ports_free clickhouse 8123 9000
  log "clickhouse: starting with $CH_DIR/config.xml"
  ch_write_config
  as_root start-stop-daemon --start --oknodo --background --chuid clickhouse:clickhouse --chdir "$CH_DIR" \
    --pidfile "$CH_DIR/clickhouse-server.pid" --make-pidfile \
    --exec /usr/sbin/clickhouse-server -- --config-file="$CH_DIR/config.xml"
  wait_for clickhouse ch_answers "$CH_DIR/log/clickhouse-server.err.log"
  log "clickhouse: version $(ch_version)"
}

# ---------------------------------------------------------------------------------------------
# Apache Kafka 4.x from Maven Central (scripts/kafka/pom.xml), KRaft mode: one process that is both
# broker and controller, PLAINTEXT on 127.0.0.1:9092, controller on 127.0.0.1:9093, SASL_PLAINTEXT
# on 127.0.0.1:9094 and SASL_SSL on 127.0.0.1:9095 (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, user
# adpipe), run with the machine's Java 17. Data, config, TLS files and logs under $KAFKA_DIR; jars
# in $KAFKA_LIB.
KAFKA_LOG="$KAFKA_DIR/log/server.log"
KAFKA_OUT="$KAFKA_DIR/log/stdout.log"
KAFKA_TLS="$KAFKA_DIR/tls"
# The one test user of the SASL listeners, for every mechanism (test/helpers/services.ts has it too).
KAFKA_SASL_USER=adpipe
KAFKA_SASL_PASSWORD=adpipe-secret
# The broker's PKCS12 keystore's password: a test secret, like the SASL one.
KAFKA_KEYSTORE_PASSWORD=adpipe-keystore
# A metadata request answered on the PLAINTEXT listener, and through each SASL listener (so a
# broker started before those existed does not count as answering); the TCP checks first spare
# kcat's 3-s wait when nothing listens. kcat signs in with PLAIN: its SCRAM (librdkafka 2.0.2) is
# refused by Kafka 4.1 where the Node client's and Java's are accepted.
kafka_plaintext_answers() { tcp_open 9092 && timeout 5 kcat -L -b 127.0.0.1:9092 -m 3 >/dev/null 2>&1; }
kafka_sasl_answers() {
  local port="$1"
  shift
  tcp_open "$port" && timeout 5 kcat -L -b "127.0.0.1:$port" -m 3 "$@" -X sasl.mechanisms=PLAIN \
    -X sasl.username="$KAFKA_SASL_USER" -X sasl.password="$KAFKA_SASL_PASSWORD" >/dev/null 2>&1
}
kafka_answers() {
  kafka_plaintext_answers &&
    kafka_sasl_answers 9094 -X security.protocol=SASL_PLAINTEXT &&
    kafka_sasl_answers 9095 -X security.protocol=SASL_SSL -X ssl.ca.location="$KAFKA_TLS/ca.pem"
}
kafka_resolve_jars() {
  local stamp
  stamp="$KAFKA_LIB/.pom-$(sha256sum "$KAFKA_POM" | cut -c1-16)"
  if [ -f "$stamp" ]; then
    log "kafka: jars present in ${KAFKA_LIB#"$REPO_DIR"/}"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "kafka: mvn missing (package maven)"
  log "kafka: resolving the broker's jars from Maven Central into ${KAFKA_LIB#"$REPO_DIR"/}"
  rm -rf "$KAFKA_LIB"
  mkdir -p "$KAFKA_LIB"
  mvn -B -q -f "$KAFKA_POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIB" </dev/null >"$KAFKA_LIB/../maven.log" 2>&1 ||
    die_with_log "$KAFKA_LIB/../maven.log" "kafka: Maven could not resolve $KAFKA_POM"
  touch "$stamp"
}
KAFKA_JVM_ARGS=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$KAFKA_LIB/*")
kafka_java() { java "${KAFKA_JVM_ARGS[@]}" "$@"; }
# kafka_jaas_config LISTENER: the login modules of one SASL listener, one per mechanism.
kafka_jaas_config() {
  local prefix="listener.name.$1" scram=org.apache.kafka.common.security.scram.ScramLoginModule
  echo "$prefix.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\"
  echo "  username=\"$KAFKA_SASL_USER\" password=\"$KAFKA_SASL_PASSWORD\" user_$KAFKA_SASL_USER=\"$KAFKA_SASL_PASSWORD\";"
  echo "$prefix.scram-sha-256.sasl.jaas.config=$scram required;"
  echo "$prefix.scram-sha-512.sasl.jaas.config=$scram required;"
}
# The test CA and the broker's certificate for 127.0.0.1 and localhost, made once: PEM files a
# Node client trusts (tls/ca.pem) and the PKCS12 keystore the broker reads.
kafka_tls_files() {
  [ -f "$KAFKA_TLS/broker.p12" ] && return 0
  command -v openssl >/dev/null 2>&1 || die "kafka: openssl missing (package openssl)"
  log "kafka: making a test CA and the broker's certificate in $KAFKA_TLS"
  as_root install -d -m 0755 "$KAFKA_TLS"
  as_root bash -euo pipefail -c '
    cd "$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=adpipe test CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr
    printf "subjectAltName=IP:127.0.0.1,DNS:localhost\n" >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.pem
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$2" -out broker.p12.tmp
    mv broker.p12.tmp broker.p12
    chmod 0644 ca.pem broker.pem' _ "$KAFKA_TLS" "$KAFKA_KEYSTORE_PASSWORD" >"$KAFKA_DIR/log/tls.log" 2>&1 ||
    die_with_log "$KAFKA_DIR/log/tls.log" "kafka: making the TLS files failed"
}
# SCRAM users live in the cluster metadata, not in server.properties: set (again) through the
# PLAINTEXT listener once the broker answers there; setting a user's credential twice is harmless.
# One mechanism a call: the broker refuses two credentials of one user in one request.
kafka_scram_users() {
  local mech
  for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
    kafka_java kafka.admin.ConfigCommand --bootstrap-server 127.0.0.1:9092 --alter --entity-type users \
      --entity-name "$KAFKA_SASL_USER" --add-config "$mech=[password=$KAFKA_SASL_PASSWORD]" \
      >"$KAFKA_DIR/log/scram.log" 2>&1 ||
      die_with_log "$KAFKA_DIR/log/scram.log" "kafka: adding the $mech user $KAFKA_SASL_USER failed"
  done
}
kafka_write_config() {
  as_root install -d -m 0755 "$KAFKA_DIR" "$KAFKA_DIR/data" "$KAFKA_DIR/log"
  as_root tee "$KAFKA_DIR/server.properties" >/dev/null <<PROPS
# Written by adpipe scripts/services.sh (overwritten on every start). Single-node test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_PLAINTEXT://127.0.0.1:9094,SASL_SSL://127.0.0.1:9095
advertised.listeners=PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094,SASL_SSL://127.0.0.1:9095
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
# PLAIN's users are these lines; SCRAM's are stored in the cluster metadata (ensure_kafka adds them).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
$(kafka_jaas_config sasl_plaintext)
$(kafka_jaas_config sasl_ssl)
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_TLS/broker.p12
ssl.keystore.password=$KAFKA_KEYSTORE_PASSWORD
ssl.key.password=$KAFKA_KEYSTORE_PASSWORD
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  as_root tee "$KAFKA_DIR/log4j2.properties" >/dev/null <<PROPS
# Written by adpipe scripts/services.sh. The broker's log goes to one file, not the console.
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $KAFKA_LOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
PROPS
}
ensure_kafka() {
  # The jars also serve tests (the reference Java client, for transactions): resolved in every
  # checkout, even when a broker started from another one answers already.
  kafka_resolve_jars
  if kafka_answers; then
    log "kafka: answering on 127.0.0.1:9092, 9094 (SASL) and 9095 (SASL over TLS) ($(kcat -L -b 127.0.0.1:9092 -m 3 2>/dev/null | grep -m1 -o 'broker [0-9]* at [^ ]*'))"
    return
  fi
  command -v java >/dev/null 2>&1 || die "kafka: java missing (package openjdk-17-jre-headless)"
  kafka_stop_outdated
  ports_free kafka 9092 9093 9094 9095
  kafka_write_config # first: it makes the dirs the TLS files and their log go to
  kafka_tls_files
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid) || die "kafka: StorageTool random-uuid failed"
    log "kafka: formatting $KAFKA_DIR/data (KRaft cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/log/format.log" 2>&1 || die_with_log "$KAFKA_DIR/log/format.log" "kafka: storage format failed"
  fi
  log "kafka: starting $(ls "$KAFKA_LIB" | grep -o '^kafka_2.13-[0-9.]*[0-9]') (KRaft, broker+controller)"
  local java_bin
  java_bin=$(readlink -f "$(command -v java)")
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$KAFKA_DIR/kafka.pid" \
    --output "$KAFKA_OUT" --exec "$java_bin" -- "${KAFKA_JVM_ARGS[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
  wait_for kafka kafka_answers "$KAFKA_LOG"
  kafka_scram_users
}
# A broker of ours that answers on 9092 but not on the SASL listeners was started with an older
# config (before they existed): stopped through its pidfile, so the start that follows gives it
# the current one. Anything else on 9092 is left alone (ports_free then names it).
kafka_stop_outdated() {
  local pidfile="$KAFKA_DIR/kafka.pid"
  kafka_plaintext_answers && [ -f "$pidfile" ] || return 0
  log "kafka: the broker of $pidfile (pid $(cat "$pidfile")) lacks the SASL listeners: restarting it"
  # --exec: a stale pidfile whose pid now belongs to another program stops nothing.
  as_root start-stop-daemon --stop --oknodo --pidfile "$pidfile" --exec "$(readlink -f "$(command -v java)")" \
    --retry TERM/60/KILL/5 >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Chromium for headless browser tests (playwright-core, executablePath /usr/bin/chromium).
chromium_smoke() {
  timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank 2>/dev/null |
    grep -q '<body>'
}
ensure_chromium() {
  [ -x /usr/bin/chromium ] || die "chromium: /usr/bin/chromium missing (package chromium)"
  chromium_smoke || die "chromium: 'chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank' failed"
  log "chromium: present and renders headless ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
}

# ---------------------------------------------------------------------------------------------
# S3: Debian's OpenStack Swift (proxy, account, container and object servers) with its s3api
# middleware and tempauth, one replica on one device, all on 127.0.0.1; the proxy on :8089, and a
# memcached on :11211 of its own (tempauth refuses to authorise without one, S3 requests too).
# Everything (configs, rings, the device, logs, pids) lives under $S3_DIR; /etc/swift is untouched
# (each config's swift_dir points Swift at our swift.conf and rings).
S3_PORT=8089
S3_REGION=us-east-1
S3_ACCESS_KEY=adpipe:tester
S3_SECRET_KEY=adpipe-s3-secret
S3_BACKENDS=(object:6210 container:6211 account:6212)
S3_MEMCACHE_PORT=11211
s3_healthy() { [ "$(curl -sf --max-time 3 "http://127.0.0.1:$S3_PORT/healthcheck" 2>/dev/null)" = OK ]; }
# ListBuckets signed with AWS Signature V4 (stdlib Python: curl's --aws-sigv4 cannot take an access
# key with a colon, and tempauth's keys are account:user). Prints the HTTP status.
s3_list_buckets_status() {
  /usr/bin/python3 - "$S3_PORT" "$S3_REGION" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" <<'PY'
import datetime, hashlib, hmac, sys, urllib.request, urllib.error
port, region, access, secret = sys.argv[1:5]
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime('%Y%m%dT%H%M%SZ'), now.strftime('%Y%m%d')
host, empty = f'127.0.0.1:{port}', hashlib.sha256(b'').hexdigest()
canonical = f'GET\n/\n\nhost:{host}\nx-amz-content-sha256:{empty}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{empty}'
scope = f'{day}/{region}/s3/aws4_request'
to_sign = f'AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n' + hashlib.sha256(canonical.encode()).hexdigest()
k = ('AWS4' + secret).encode()
for part in (day, region, 's3', 'aws4_request'):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(f'http://{host}/', headers={
    'x-amz-date': amz_date, 'x-amz-content-sha256': empty,
    'Authorization': f'AWS4-HMAC-SHA256 Credential={access}/{scope}, '
                     f'SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}'})
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
PY
}
s3_answers() { s3_healthy && [ "$(s3_list_buckets_status 2>/dev/null)" = 200 ]; }
# s3_conf_defaults PORT LOG_NAME: the [DEFAULT] section every Swift server of ours shares.
s3_conf_defaults() {
  cat <<CONF
# Written by adpipe scripts/services.sh (overwritten on every start).
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 1
user = swift
swift_dir = $S3_DIR/etc
log_name = $2
CONF
}
s3_write_config() {
  local name port
  as_root install -d -o swift -g swift -m 0750 "$S3_DIR" "$S3_DIR/etc" "$S3_DIR/srv" "$S3_DIR/srv/d1" \
    "$S3_DIR/log" "$S3_DIR/cache"
  as_root tee "$S3_DIR/etc/swift.conf" >/dev/null <<CONF
# Written by adpipe scripts/services.sh (overwritten on every start).
[swift-hash]
swift_hash_path_suffix = adpipe-test
swift_hash_path_prefix = adpipe-test
[storage-policy:0]
name = Policy-0
default = yes
CONF
  for entry in "${S3_BACKENDS[@]}"; do
    name=${entry%%:*}
    port=${entry##*:}
    {
      s3_conf_defaults "$port" "$name-server"
      cat <<CONF
devices = $S3_DIR/srv
mount_check = false
recon_cache_path = $S3_DIR/cache
[pipeline:main]
pipeline = $name-server
[app:$name-server]
use = egg:swift#$name
CONF
    } | as_root tee "$S3_DIR/etc/$name-server.conf" >/dev/null
  done
  {
    s3_conf_defaults "$S3_PORT" proxy-server
    cat <<CONF
[pipeline:main]
# s3api just before its auth (tempauth); slo after it, for S3 multipart uploads.
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = $S3_REGION
[filter:tempauth]
use = egg:swift#tempauth
# S3 access key "${S3_ACCESS_KEY}", secret "${S3_SECRET_KEY}": test credentials, local only.
user_${S3_ACCESS_KEY%%:*}_${S3_ACCESS_KEY##*:} = $S3_SECRET_KEY .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$S3_MEMCACHE_PORT
CONF
    local f
    for f in catch_errors gatekeeper healthcheck proxy-logging:proxy_logging listing_formats copy slo dlo; do
      printf '[filter:%s]\nuse = egg:swift#%s\n' "${f%%:*}" "${f##*:}"
    done
  } | as_root tee "$S3_DIR/etc/proxy-server.conf" >/dev/null
}
# One ring each, 2^8 partitions, one replica, on the one device: built once, kept afterwards.
s3_build_rings() {
  local entry name port
  for entry in "${S3_BACKENDS[@]}"; do
    name=${entry%%:*}
    port=${entry##*:}
    [ -f "$S3_DIR/etc/$name.ring.gz" ] && continue
    log "s3: building the $name ring"
    (
      cd "$S3_DIR/etc"
      as_root swift-ring-builder "$name.builder" create 8 1 1 >/dev/null
      as_root swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null
      as_root swift-ring-builder "$name.builder" rebalance >/dev/null || [ -f "$name.ring.gz" ]
    ) || die "s3: swift-ring-builder failed for the $name ring"
  done
  as_root chown -R swift:swift "$S3_DIR/etc"
}
# s3_ensure_process NAME PORT [COMMAND...]: start NAME (default: Swift's server NAME with our config)
# unless our own NAME already runs; a port held by anything else is an error that names it.
s3_ensure_process() {
  local name="$1" port="$2" pidfile="$S3_DIR/$1.pid"
  shift 2
  [ $# -gt 0 ] || set -- "/usr/bin/swift-$name" "$S3_DIR/etc/$name.conf" --verbose
  # Running and not a zombie: a container's pid 1 may never reap what it inherits.
  if [ -f "$pidfile" ] && [[ "$(ps -o stat= -p "$(cat "$pidfile")" 2>/dev/null)" =~ ^[^Z] ]]; then return 0; fi
  ports_free "s3 ($name)" "$port"
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$pidfile" \
    --output "$S3_DIR/log/$name.log" --exec "$1" -- "${@:2}"
}
ensure_s3() {
  if s3_answers; then
    log "s3: answering on http://127.0.0.1:$S3_PORT (Swift $(/usr/bin/python3 -c 'import swift; print(swift.__version__)') + s3api)"
    return
  fi
  [ -x /usr/bin/swift-proxy-server ] || die "s3: /usr/bin/swift-proxy-server missing (package swift-proxy)"
  local entry
  log "s3: configuring Swift under $S3_DIR"
  s3_write_config
  s3_build_rings
  # Swift keeps object metadata in extended attributes: the data directory's filesystem must have them.
  as_root /usr/bin/python3 -c "import sys, xattr; xattr.setxattr(sys.argv[1], 'user.adpipe', b'1')" "$S3_DIR/srv/d1" ||
    die "s3: $S3_DIR/srv does not support user extended attributes (Swift needs them; see docs/services.md)"
  s3_ensure_process memcached "$S3_MEMCACHE_PORT" /usr/bin/memcached -u memcache -l 127.0.0.1 -p "$S3_MEMCACHE_PORT" -m 64
  for entry in "${S3_BACKENDS[@]}"; do
    s3_ensure_process "${entry%%:*}-server" "${entry##*:}"
  done
  s3_ensure_process proxy-server "$S3_PORT"
  wait_for s3 s3_answers "$S3_DIR/log/proxy-server.log"
}

# ---------------------------------------------------------------------------------------------
log "checking: ${SELECTED[*]}"
install_packages
FAILED=()
for svc in "${SELECTED[@]}"; do
  t0=$(date +%s%N)
  # A subshell each, so one service's failure still lets the others be tried. Not in an `if`:
  # there bash would switch errexit off inside the subshell too.
  set +e
  (
    set -e
    "ensure_$svc"
  )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    log "$svc: ok ($(elapsed_ms "$t0") ms)"
  else
    log "$svc: FAILED ($(elapsed_ms "$t0") ms)"
    FAILED+=("$svc")
  fi
done
if [ ${#FAILED[@]} -gt 0 ]; then
  die "not ready: ${FAILED[*]} (after $(elapsed_ms "$SCRIPT_START") ms); see the errors above"
fi
log "all requested services ready in $(elapsed_ms "$SCRIPT_START") ms"
