#!/usr/bin/env bash
# The data tier as deploy/data renders it, run for real on this machine (no cluster needed):
#   Redis 7  - three masters and a replica, each started by the chart's start.sh with the chart's
#              redis.conf and ACL rules, passwords only as files; the cluster formed as the chart's
#              Job does (user admin)
#   PostgreSQL - the database and roles the chart's CloudNativePG Cluster creates (owner, the
#              postInitApplicationSQL, the request role with its login), PgBouncer in transaction
#              mode in front of the request path (Debian's PgBouncer)
#   gateway  - the packaged jar connected as the ACL user "strata" and as the DML-only role, Flyway
#              migrating as the owner; then the release smoke test, a batchGet and a rate-limited key
# It fails on any NOPERM/authentication error in the gateway's log or in any node's ACL LOG, on a
# request role that can change the schema, and when a Redis cluster restarted on new addresses does
# not find its peers again by name (start.sh), which it shows cannot happen without start.sh.
# Paths in redis.conf are pointed at temporary directories (/data, /run/redis); nothing else changes.
#   deploy/data/check-local.sh        (needs the packaged gateway; root for the restart part)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
need=""
command -v redis-server >/dev/null && redis-server --version | grep -q 'v=[7-9]' || need="$need redis-server"
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need="$need pgbouncer"
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need="$need postgresql"
if [ -n "$need" ]; then
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
helm=$(bash tools/k8s-validate/validate.sh --helm)

work=$(mktemp -d /tmp/strata-data.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # PgBouncer runs under runuser: stop it by its own pid
  [ -f "$work/pgbouncer.pid" ] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null || true
  as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL  $*"; exit 1; }

echo "== the chart's Redis configuration and PostgreSQL bootstrap (namespace strata)"
"$helm" template data deploy/data --namespace strata --values deploy/data/values-prod.yaml > "$work/data.yaml"
python3 - "$work" <<'EOF'
import json, os, sys, yaml
work = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{work}/data.yaml")) if d]
conf = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "redis")["data"]
os.makedirs(f"{work}/conf")
for name, text in conf.items():
    # the container's paths, pointed at this run's directories (REDIS_* below)
    open(f"{work}/conf/{name}", "w").write(text.replace("/run/redis/", "RUN_DIR/").replace("/data/", "DATA_DIR/"))
cluster = next(d for d in docs if d["kind"] == "Cluster")
initdb = cluster["spec"]["bootstrap"]["initdb"]
json.dump({"database": initdb["database"], "owner": initdb["owner"], "sql": initdb["postInitApplicationSQL"],
           "role": cluster["spec"]["managed"]["roles"][0]["name"]}, open(f"{work}/postgres.json", "w"))
EOF
echo "strata ACL rules: $(cat "$work/conf/strata.acl")"

mkdir -p "$work/secrets" && for name in admin replication strata; do openssl rand -hex 24 | tr -d '\n' > "$work/secrets/$name-password"; done
chmod 600 "$work/secrets"/*
# a base port whose neighbours are all free (Redis nodes and bus ports, PostgreSQL, PgBouncer, the gateway)
for _ in $(seq 1 20); do
  base=$((12000 + RANDOM % 10000)) # every port below the kernel's ephemeral range (32768 up), so no outgoing connection holds one
  used=$(ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -u)
  clash=0
  for p in $(seq $base $((base + 3))) $(seq $((base + 10000)) $((base + 10003))) $((base + 100)) $((base + 101)) $((base + 200)) $((base + 201)); do
    grep -qx "$p" <<<"$used" && clash=1
  done
  [ "$clash" = 0 ] && break
done
hosts=$work/hosts
echo "127.0.0.1 localhost" > "$hosts"

start_node() { # index address
  local i=$1 address=$2 dir=$work/redis-$i
  mkdir -p "$dir/run" "$dir/data"
  sed "s|RUN_DIR/|$dir/run/|; s|DATA_DIR/|$dir/data/|" "$work/conf/redis.conf" > "$dir/redis.conf"
  mkdir -p "$dir/conf" && cp "$work/conf/strata.acl" "$work/conf/start.sh" "$dir/conf/" && cp "$dir/redis.conf" "$dir/conf/redis.conf"
  (REDIS_SECRETS=$work/secrets REDIS_RUN=$dir/run REDIS_CONF=$dir/conf REDIS_DATA=$dir/data \
     ANNOUNCE_HOSTNAME=redis-$i.redis.strata.svc exec $resolver sh "$dir/conf/start.sh" \
     --port $((base + i)) --bind "$address" --dir "$dir/data" --appendonly no --maxmemory 64mb) >>"$dir/log" 2>&1 &
  pids+=($!)
}
admin() { REDISCLI_AUTH=$(cat "$work/secrets/admin-password") redis-cli --no-auth-warning --user admin "$@"; }
await_ping() { # address port
  for _ in $(seq 1 100); do admin -h "$1" -p "$2" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  return 1
}

echo "== Redis: 3 masters and a replica, from start.sh"
resolver=""
for i in 0 1 2 3; do
  echo "127.0.0.1 redis-$i.redis.strata.svc" >> "$hosts"
  start_node $i 127.0.0.1
done
for i in 0 1 2 3; do await_ping 127.0.0.1 $((base + i)) || { cat "$work/redis-$i/log"; fail "redis-$i does not start"; }; done
grep -q 'user default off' "$work/redis-0/run/users.acl" || fail "no ACL file rendered"
if grep -rqF "$(cat "$work/secrets/strata-password")" "$work/redis-0/run/users.acl"; then fail "a password in clear in the ACL file"; fi
ps -eo args | grep -F "$(cat "$work/secrets/replication-password")" | grep -v grep && fail "a password in a process's arguments"
redis-cli -p "$base" ping 2>&1 | grep -q NOAUTH || fail "the default user still answers without a password"
admin -p "$base" --cluster create 127.0.0.1:$base 127.0.0.1:$((base + 1)) 127.0.0.1:$((base + 2)) --cluster-yes >"$work/create.log" 2>&1 \
  || { cat "$work/create.log"; fail "cluster create"; }
admin -p "$base" --cluster add-node 127.0.0.1:$((base + 3)) 127.0.0.1:$base --cluster-slave >>"$work/create.log" 2>&1 \
  || { cat "$work/create.log"; fail "replica"; }
for _ in $(seq 1 100); do
  admin -p $((base + 3)) info replication | grep -q 'master_link_status:up' && break; sleep 0.2
done
admin -p $((base + 3)) info replication | grep -q 'master_link_status:up' || fail "the replica did not authenticate to its master (user replication)"
echo "ok    cluster formed by user admin; the replica authenticated as user replication; default user off"

echo "== PostgreSQL: the database and roles of the CloudNativePG cluster, PgBouncer in transaction mode"
db=$(python3 -c "import json; print(json.load(open('$work/postgres.json'))['database'])")
owner=$(python3 -c "import json; print(json.load(open('$work/postgres.json'))['owner'])")
role=$(python3 -c "import json; print(json.load(open('$work/postgres.json'))['role'])")
owner_pw=$(openssl rand -hex 16); role_pw=$(openssl rand -hex 16)
pg_port=$((base + 100)); bouncer_port=$((base + 101))
[ "$(id -u)" = 0 ] && chown postgres "$work"
as_pg "$pg_bin/initdb" -D "$work/pg" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -o "-p $pg_port -k $work -h 127.0.0.1" -l "$work/pg.log" -w start >/dev/null \
  || { cat "$work/pg.log"; fail "PostgreSQL does not start"; }
su_sql() { as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$pg_port" -U postgres -d "$1" -c "$2"; }
# what initdb does for the owner, then postInitApplicationSQL in the new database, then the managed role
su_sql postgres "CREATE ROLE $owner LOGIN PASSWORD '$owner_pw'"
su_sql postgres "CREATE DATABASE $db OWNER $owner"
python3 -c "import json; [print(s + ';') for s in json.load(open('$work/postgres.json'))['sql']]" > "$work/post-init.sql"
[ "$(id -u)" = 0 ] && chown postgres "$work/post-init.sql"
as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$pg_port" -U postgres -d "$db" -f "$work/post-init.sql"
su_sql postgres "ALTER ROLE $role LOGIN PASSWORD '$role_pw'"
cat > "$work/pgbouncer.ini" <<INI
[databases]
$db = host=127.0.0.1 port=$pg_port dbname=$db
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = transaction
# the client sends it at connect; CloudNativePG's poolers ignore it by default too
ignore_startup_parameters = extra_float_digits
default_pool_size = 10
max_client_conn = 200
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
printf '"%s" "%s"\n' "$role" "$role_pw" > "$work/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres "$work/pgbouncer.ini" "$work/userlist.txt"
bouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
as_pg "$bouncer" "$work/pgbouncer.ini" >/dev/null 2>&1 &
pids+=($!)
sleep 1
echo "ok    owner $owner, request role $role (DML only), PgBouncer $("$bouncer" --version | head -1 | awk '{print $2}') on $bouncer_port"

echo "== the gateway as user strata and role $role"
jar=gateway/target/quarkus-app/quarkus-run.jar
[ -f "$jar" ] || fail "build the gateway first: ./mvnw package -DskipTests"
api=$((base + 200)); management=$((base + 201))
admin_key=sk_$(openssl rand -hex 20)
# hosts as the chart renders them: the user, and the password as an expression Quarkus expands
(credentials='strata:${quarkus.redis.password}'
 export QUARKUS_REDIS_HOSTS="redis://$credentials@127.0.0.1:$base,redis://$credentials@127.0.0.1:$((base + 1)),redis://$credentials@127.0.0.1:$((base + 2))"
 export QUARKUS_REDIS_PASSWORD=$(cat "$work/secrets/strata-password")
 export QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://127.0.0.1:$bouncer_port/$db"
 export QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://127.0.0.1:$pg_port/$db"
 export QUARKUS_DATASOURCE_USERNAME=$role QUARKUS_DATASOURCE_PASSWORD=$role_pw
 # what the chart sets with a pooler: no named prepared statements through PgBouncer
 export QUARKUS_DATASOURCE_REACTIVE_POSTGRESQL_USE_LAYER7_PROXY=true QUARKUS_DATASOURCE_REACTIVE_CACHE_PREPARED_STATEMENTS=false
 export QUARKUS_FLYWAY_USERNAME=$owner QUARKUS_FLYWAY_PASSWORD=$owner_pw
 export STRATA_AUTH_PEPPER=$(openssl rand -hex 32) STRATA_AUTH_BOOTSTRAP_ADMIN_KEY=$admin_key
 export QUARKUS_HTTP_PORT=$api QUARKUS_MANAGEMENT_PORT=$management
 export QUARKUS_VERTX_USE_ASYNC_DNS=true QUARKUS_VERTX_RESOLVER_HOSTS_PATH=$hosts
 # a line per request (the access log, written inside the request's trace), for the log parser check below
 export QUARKUS_HTTP_ACCESS_LOG_ENABLED=true
 exec "${JAVA_HOME:-/usr}/bin/java" -jar "$jar") >"$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 90); do curl -fs "http://127.0.0.1:$management/q/health/ready" >/dev/null && break; sleep 1; done
curl -fs "http://127.0.0.1:$management/q/health/ready" >/dev/null || { tail -30 "$work/gateway.log"; fail "the gateway is not ready"; }
STRATA_ADMIN_KEY=$admin_key deploy/smoke-test.sh "http://127.0.0.1:$api" || { tail -30 "$work/gateway.log"; fail "smoke test"; }
auth="Authorization: Bearer $admin_key"
curl -fsS -o /dev/null -X PUT "http://127.0.0.1:$api/v1/acl/docs/a" -H "$auth" -H 'Content-Type: application/json' -d '{"a":1}'
batch=$(curl -fsS -X POST "http://127.0.0.1:$api/v1/acl/docs:batchGet" -H "$auth" -H 'Content-Type: application/json' -d '{"ids":["a","missing"]}')
grep -q '"missing"' <<<"$batch" && grep -q '"a"' <<<"$batch" || fail "batchGet: $batch"
echo "ok    batchGet"
limited=$(curl -fsS -X POST "http://127.0.0.1:$api/admin/keys" -H "$auth" -H 'Content-Type: application/json' \
  -d '{"name":"limited","scopes":["read:acl"],"rateLimit":5}' | python3 -c "import json,sys; print(json.load(sys.stdin)['secret'])")
codes=$(for _ in $(seq 1 40); do curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$api/v1/acl/docs/a" -H "Authorization: Bearer $limited"; done | sort | uniq -c | tr '\n' ' ')
grep -q ' 429' <<<" $codes" || fail "the rate-limited key was never limited: $codes"
echo "ok    rate limit through Redis ($codes)"
sleep 1
if grep -E 'NOPERM|WRONGPASS|NOAUTH|permission denied|must be owner' "$work/gateway.log"; then fail "the gateway met a permission error (above)"; fi
for i in 0 1 2 3; do
  log=$(admin -p $((base + i)) acl log)
  [ -z "$log" ] || { echo "$log"; fail "redis-$i refused something (ACL LOG above)"; }
done
echo "ok    no permission error in the gateway's log, nothing in any node's ACL LOG"
echo "      commands the gateway sent: $(for i in 0 1 2; do admin -p $((base + i)) info commandstats; done | sed -n 's/^cmdstat_\([^:]*\):.*/\1/p' | sort -u | tr '\n' ' ')"

role_sql() { PGPASSWORD=$role_pw "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U "$role" -d "$db" -c "$1" 2>&1; }
for statement in "CREATE TABLE intruder (i int)" "DROP TABLE documents" "ALTER TABLE documents ADD COLUMN x int" "TRUNCATE documents"; do
  out=$(role_sql "$statement") && fail "the request role may run: $statement"
  grep -q 'permission denied\|must be owner' <<<"$out" || fail "$statement: $out"
done
[ "$(role_sql 'SELECT count(*) FROM documents' | head -1)" ] || fail "the request role cannot read"
owners=$(as_pg "$pg_bin/psql" -X -At -h "$work" -p "$pg_port" -U postgres -d "$db" \
  -c "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
[ "$owners" = "$owner" ] || fail "the tables are owned by $owners, not $owner alone"
echo "ok    migrations ran as $owner; $role may not create, alter, drop or truncate"

kill "${pids[-1]}" 2>/dev/null || true   # the gateway
python3 observability/logging/check-parser.py "$work/gateway.log" || fail "log shipping configuration against real lines"

echo "== a full restart of Redis on new addresses"
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then echo "skipped: needs root for a private /etc/hosts"; exit 0; fi
for i in 0 1 2 3; do admin -p $((base + i)) shutdown nosave >/dev/null 2>&1 || true; done
sleep 1
restart_all() { # new address prefix, with or without start.sh's re-resolution
  local prefix=$1 how=$2
  : > "$work/hosts.new"; echo "127.0.0.1 localhost" >> "$work/hosts.new"
  for i in 0 1 2 3; do echo "$prefix.$((i + 1)) redis-$i.redis.strata.svc" >> "$work/hosts.new"; done
  for i in 0 1 2 3; do
    local dir=$work/redis-$i
    if [ "$how" = start.sh ]; then
      # each pod's own view of DNS: a private /etc/hosts with everybody's new address
      (${sudo:+$sudo -E} env REDIS_SECRETS=$work/secrets REDIS_RUN=$dir/run REDIS_CONF=$dir/conf REDIS_DATA=$dir/data \
         ANNOUNCE_HOSTNAME=redis-$i.redis.strata.svc unshare --mount -- sh -c \
         "mount --bind $work/hosts.new /etc/hosts && exec sh $dir/conf/start.sh --port $((base + i)) --bind $prefix.$((i + 1)) --bind-source-addr $prefix.$((i + 1)) --dir $dir/data --appendonly no --maxmemory 64mb") >>"$dir/log" 2>&1 &
    else
      # what the StatefulSet did before start.sh: redis-server on the same configuration, no re-resolution
      (cd "$dir/data" && exec redis-server "$dir/conf/redis.conf" --aclfile "$dir/run/users.acl" \
         --cluster-announce-hostname "redis-$i.redis.strata.svc" --port $((base + i)) --bind "$prefix.$((i + 1))" --bind-source-addr "$prefix.$((i + 1))" \
         --dir "$dir/data" --appendonly no --maxmemory 64mb) >>"$dir/log" 2>&1 &
    fi
    pids+=($!)
  done
  for i in 0 1 2 3; do await_ping "$prefix.$((i + 1))" $((base + i)) || fail "redis-$i did not restart"; done
}
links_up() { # prefix: every node sees every other node connected at its new address
  local prefix=$1
  for i in 0 1 2 3; do
    nodes=$(admin -h "$prefix.$((i + 1))" -p $((base + i)) cluster nodes)
    [ "$(grep -c ' connected' <<<"$nodes")" = 4 ] || return 1
    grep -v myself <<<"$nodes" | grep -qv "$prefix\." && return 1
  done
  return 0
}
stop_all() { # prefix
  for i in 0 1 2 3; do admin -h "$1.$((i + 1))" -p $((base + i)) shutdown >/dev/null 2>&1 || true; done
  sleep 1
}
# nodes.conf is saved at shutdown: first without re-resolution, the peers stay lost
restart_all 127.0.2 direct
sleep 12
if links_up 127.0.2; then fail "the restarted cluster re-formed without start.sh: this check proves nothing"; fi
echo "ok    without re-resolution the restarted nodes stay apart (as the old StatefulSet would)"
stop_all 127.0.2
restart_all 127.0.3 start.sh
ok=""
for _ in $(seq 1 60); do links_up 127.0.3 && { ok=1; break; }; sleep 0.5; done
[ -n "$ok" ] || { for i in 0 1 2 3; do admin -h 127.0.3.$((i + 1)) -p $((base + i)) cluster nodes; done; fail "start.sh did not re-form the cluster"; }
for _ in $(seq 1 60); do admin -h 127.0.3.1 -p "$base" cluster info | grep -q cluster_state:ok && break; sleep 0.5; done
admin -h 127.0.3.1 -p "$base" cluster info | grep -q cluster_state:ok || { admin -h 127.0.3.1 -p "$base" cluster info; fail "cluster state"; }
echo "ok    with start.sh every node found every other at its new address by name; cluster_state:ok"
echo "data tier checks passed"
