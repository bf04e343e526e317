#!/usr/bin/env bash
# docker-compose.yml, checked without Docker:
#   1. against the Compose specification's JSON schema, with Compose's interpolation and command
#      splitting (resolve.mjs);
#   2. every service started from exactly the command line and environment Compose would give it,
#      as local processes: the three Redis nodes (redis-server with the same arguments), the
#      cluster-forming command, PostgreSQL initialised and started as the postgres image's entry point
#      does from POSTGRES_USER/POSTGRES_DB/POSTGRES_PASSWORD, and the packaged gateway with its
#      environment; then the smoke test (deploy/smoke-test.sh) through the gateway.
# What differs from Compose, and only that: no container network, so each Redis node also gets
# --port/--bind/--dir arguments appended (later arguments win in redis-server), the cluster-forming
# command and the gateway's addresses have the service names replaced by those loopback ports, and the
# gateway resolves the names the Redis nodes announce through a hosts file (Vert.x's resolver).
# Needs the packaged gateway (./mvnw package); installs Redis 7 and PostgreSQL from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
cache=${STRATA_TOOLS_CACHE:-$HOME/.cache/strata-tools}/compose
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
if [ ! -d "$cache/node_modules/dclint" ] || ! cmp -s tools/compose/package.json "$cache/package.json"; then
  mkdir -p "$cache" && cp tools/compose/package.json "$cache/"
  (cd "$cache" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
fi
cp tools/compose/resolve.mjs "$cache/"
if ! command -v redis-server >/dev/null || ! redis-server --version | grep -q 'v=[7-9]'; then
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pg_bin" ]; then
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/strata-compose.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  as_pg "$pg_bin/pg_ctl" -D "$work/postgres" -m immediate stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# what a developer exports before `docker compose up` (the file's own instructions)
export STRATA_DB_PASSWORD=$(openssl rand -hex 16) STRATA_AUTH_PEPPER=$(openssl rand -hex 32) STRATA_ADMIN_KEY=sk_$(openssl rand -hex 24)
echo "== docker-compose.yml against the Compose specification, interpolated as Compose does"
node "$cache/resolve.mjs" docker-compose.yml > "$work/services.json"
echo "valid; services: $(python3 -c "import json; print(', '.join(json.load(open('$work/services.json'))))" )"
get() { python3 -c "import json,sys; d=json.load(open('$work/services.json')); print(json.dumps(eval(sys.argv[1], {'d': d})))" "$1"; }

echo "== Redis nodes, started with the arguments Compose passes"
# a base port whose neighbours are all free (Redis nodes, their bus ports, PostgreSQL, the gateway)
for _ in $(seq 1 20); do
  base=$((12000 + RANDOM % 10000)) # every port below the kernel's ephemeral range (32768 up), so no outgoing connection holds one
  used=$(ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -u)
  clash=0
  for p in $base $((base + 1)) $((base + 2)) $((base + 10000)) $((base + 10001)) $((base + 10002)) $((base + 100)) $((base + 200)) $((base + 201)); do
    grep -qx "$p" <<<"$used" && clash=1
  done
  [ "$clash" = 0 ] && break
done
declare -A port
hosts_file=$work/hosts
echo "127.0.0.1 localhost" > "$hosts_file"
i=0
for service in $(python3 -c "import json; print(' '.join(s for s in json.load(open('$work/services.json')) if s.startswith('redis-') and s != 'redis-cluster'))"); do
  p=$((base + i)); i=$((i + 1)); port[$service]=$p
  mkdir -p "$work/$service"
  mapfile -d "" -t argv < <(python3 -c "import json; [print(a, end='\\0') for a in json.load(open('$work/services.json'))['$service']['argv']]")
  hostname=$(python3 -c "import json; print(json.load(open('$work/services.json'))['$service']['hostname'])")
  echo "127.0.0.1 $hostname" >> "$hosts_file"
  echo "$service: ${argv[*]}"
  # the container's environment has HOSTNAME set to the service's hostname
  (cd "$work/$service" && HOSTNAME=$hostname exec "${argv[@]}" --port "$p" --bind 127.0.0.1 --dir "$work/$service" \
     --cluster-config-file "$work/$service/nodes.conf" --daemonize no) >"$work/$service.log" 2>&1 &
  pids+=($!)
done
for service in "${!port[@]}"; do
  ok=""
  for _ in $(seq 1 50); do
    if redis-cli -p "${port[$service]}" ping 2>/dev/null | grep -q PONG; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "FAIL  $service does not accept connections:"; cat "$work/$service.log"; exit 1; }
  announced=$(redis-cli -p "${port[$service]}" config get cluster-announce-hostname | tail -1)
  expected=$(python3 -c "import json; print(json.load(open('$work/services.json'))['$service']['hostname'])")
  [ "$announced" = "$expected" ] || { echo "FAIL  $service announces '$announced', not '$expected'"; exit 1; }
  echo "ok    $service accepts connections, announces $announced"
done

echo "== the cluster-forming service's command (service names -> loopback ports)"
mapfile -d "" -t create < <(python3 -c "import json; [print(a, end='\\0') for a in json.load(open('$work/services.json'))['redis-cluster']['argv']]")
for service in "${!port[@]}"; do
  create=("${create[@]//$service:6379/127.0.0.1:${port[$service]}}")
  create=("${create[@]//-h $service /-h 127.0.0.1 -p ${port[$service]} }")
done
"${create[@]}" > "$work/create.log" 2>&1 || { cat "$work/create.log"; exit 1; }
for _ in $(seq 1 50); do
  redis-cli -p "$base" cluster info | grep -q cluster_state:ok && break
  sleep 0.2
done
redis-cli -p "$base" cluster info | grep -q cluster_state:ok || { echo "FAIL  no cluster"; redis-cli -p "$base" cluster info; exit 1; }
slots=$(redis-cli -p "$base" cluster slots)
for service in "${!port[@]}"; do
  grep -qx "$service" <<<"$slots" || { echo "FAIL  clients are not sent to $service by name:"; echo "$slots"; exit 1; }
done
echo "ok    cluster formed; clients are redirected to the nodes by name"

echo "== PostgreSQL, initialised as the postgres image does from its environment"
pg_user=$(get "d['postgres']['environment']['POSTGRES_USER']" | tr -d '"')
pg_db=$(get "d['postgres']['environment']['POSTGRES_DB']" | tr -d '"')
get "d['postgres']['environment']['POSTGRES_PASSWORD']" | python3 -c "import json,sys; print(json.load(sys.stdin), end='')" > "$work/pgpass"
[ "$(id -u)" = 0 ] && chown postgres "$work" "$work/pgpass"
pg_port=$((base + 100))
as_pg "$pg_bin/initdb" -D "$work/postgres" -U "$pg_user" --pwfile="$work/pgpass" -A scram-sha-256 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$work/postgres" -o "-p $pg_port -k $work -h 127.0.0.1" -l "$work/postgres.log" -w start >/dev/null \
  || { cat "$work/postgres.log"; exit 1; }
PGPASSWORD=$(cat "$work/pgpass") "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE \"$pg_db\"" >/dev/null
# the service's healthcheck, on this server
mapfile -d "" -t health < <(python3 -c "import json; [print(a, end='\\0') for a in json.load(open('$work/services.json'))['postgres']['healthcheck'][1:]]")
"${health[@]}" -h 127.0.0.1 -p "$pg_port" >/dev/null || { echo "FAIL  healthcheck ${health[*]}"; exit 1; }
echo "ok    ${health[*]}: ready"

echo "== the gateway with the environment Compose gives it"
jar=gateway/target/quarkus-app/quarkus-run.jar
[ -f "$jar" ] || { echo "build the gateway first: ./mvnw package -DskipTests" >&2; exit 1; }
python3 - "$work/services.json" "$work/gateway.env" "$pg_port" <<EOF
import json, sys
services = json.load(open(sys.argv[1]))
env = dict(services["gateway"]["environment"])
ports = {$(for s in "${!port[@]}"; do printf '"%s": %s, ' "$s" "${port[$s]}"; done)}
for name, p in ports.items():
    env["QUARKUS_REDIS_HOSTS"] = env["QUARKUS_REDIS_HOSTS"].replace(f"{name}:6379", f"127.0.0.1:{p}")
for key in ("QUARKUS_DATASOURCE_REACTIVE_URL", "QUARKUS_DATASOURCE_JDBC_URL"):
    env[key] = env[key].replace("postgres:5432", "127.0.0.1:" + sys.argv[3])
with open(sys.argv[2], "w") as f:
    for k, v in env.items():
        f.write(f"{k}={v}\n")
EOF
api=$((base + 200)); management=$((base + 201))
(set -a; . "$work/gateway.env"; set +a
 QUARKUS_HTTP_PORT=$api QUARKUS_MANAGEMENT_PORT=$management QUARKUS_VERTX_USE_ASYNC_DNS=true QUARKUS_VERTX_RESOLVER_HOSTS_PATH="$hosts_file" \
   exec "${JAVA_HOME:-/usr}/bin/java" -jar "$jar") >"$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 90); do curl -fs "http://127.0.0.1:$management/q/health/ready" >/dev/null && break; sleep 1; done
curl -fs "http://127.0.0.1:$management/q/health/ready" >/dev/null || { tail -40 "$work/gateway.log"; exit 1; }
STRATA_ADMIN_KEY=$(python3 -c "import json; print(json.load(open('$work/services.json'))['gateway']['environment']['STRATA_AUTH_BOOTSTRAP_ADMIN_KEY'])") \
  deploy/smoke-test.sh "http://127.0.0.1:$api" || { tail -40 "$work/gateway.log"; exit 1; }
echo "compose services start as Compose would start them, and serve"
