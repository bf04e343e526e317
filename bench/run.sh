#!/usr/bin/env bash
# Strata's benchmark: one command starts a real PostgreSQL and Redis Cluster (bin/local-services),
# the packaged gateway with the JVM sized as for a 512 MiB container, loads a data set, and runs each
# scenario with wrk after a warm-up. In the same run it measures the ceiling: the same process
# answering a constant body of the same size through the same HTTP stack (/v1/{c}/bench:ceiling,
# enabled only here). Prints a table: req/s, p50, p99, ratio to the ceiling, storage queries and Redis
# round trips per request, errors, and the process's peak RSS.
#   bench/run.sh [DOCS=10000] [DURATION=10s]
set -euo pipefail
cd "$(dirname "$0")/.."
docs=${1:-10000}
duration=${2:-10s}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
command -v wrk >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v psql >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; }
jar=gateway/target/quarkus-app/quarkus-run.jar
[ -f "$jar" ] || ./mvnw -q -B package -DskipTests
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

bin/local-services "$work/local.env" >"$work/services.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 180); do grep -q QUARKUS_REDIS_HOSTS "$work/local.env" 2>/dev/null && break; sleep 1; done
set -a; . "$work/local.env"; set +a
port=18580
STRATA_BENCH_CEILING_ENABLED=true QUARKUS_HTTP_PORT=$port QUARKUS_LOG_CONSOLE_JSON_ENABLED=false \
  "${JAVA_HOME:-/usr}/bin/java" -XX:MaxRAM=512m -XX:MaxRAMPercentage=75 -jar "$jar" >"$work/gateway.log" 2>&1 &
gateway=$!
pids+=($gateway)
for _ in $(seq 1 90); do curl -fs "http://127.0.0.1:$port/q/health/ready" >/dev/null && break; sleep 1; done

echo "loading $docs documents of ~200 bytes"
export PGPASSWORD=$QUARKUS_DATASOURCE_PASSWORD
pgport=$STRATA_POSTGRES_PORT
psql -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -c "
  INSERT INTO documents (collection, id, version, body)
  SELECT 'bench', 'd' || g, nextval('strata_version_seq'),
         convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat('x', 170) || '\"}', 'UTF8')
  FROM generate_series(0, $docs - 1) g"

url="http://127.0.0.1:$port"
cat >"$work/hit.lua" <<LUA
math.randomseed(os.time())
request = function() return wrk.format("GET", "/v1/bench/docs/d" .. math.random(0, $docs - 1)) end
LUA
cat >"$work/miss.lua" <<'LUA'
math.randomseed(os.time() + 7)
request = function() return wrk.format("GET", "/v1/bench/docs/absent-" .. math.random(1, 1000000000) .. "-" .. math.random(1, 1000000000)) end
LUA
cat >"$work/conditional.lua" <<LUA
math.randomseed(os.time() + 3)
request = function() return wrk.format("GET", "/v1/bench/docs/d" .. math.random(0, $docs - 1), {["If-None-Match"] = "*"}) end
LUA
cat >"$work/mixed.lua" <<LUA
math.randomseed(os.time() + 5)
request = function()
  local id = "/v1/bench/docs/d" .. math.random(0, $docs - 1)
  if math.random(1, 100) <= 5 then
    return wrk.format("PUT", id, {["Content-Type"] = "application/json"}, '{"n":1,"pad":"' .. string.rep("y", 170) .. '"}')
  end
  return wrk.format("GET", id)
end
LUA
cat >"$work/batch.lua" <<LUA
math.randomseed(os.time() + 11)
request = function()
  local ids = {}
  for i = 1, 100 do ids[i] = '"d' .. math.random(0, $docs - 1) .. '"' end
  return wrk.format("POST", "/v1/bench/docs:batchGet", {["Content-Type"] = "application/json"}, '{"ids":[' .. table.concat(ids, ",") .. ']}')
end
LUA
cat >"$work/list.lua" <<'LUA'
request = function() return wrk.format("GET", "/v1/bench/docs?limit=100") end
LUA
cat >"$work/ceiling.lua" <<'LUA'
request = function() return wrk.format("GET", "/v1/bench/bench:ceiling") end
LUA

metric_sum() { # name [label fragment]
  curl -fs "$url/q/metrics" | awk -v name="$1" -v frag="${2:-}" 'index($0, name "{") == 1 && index($0, frag) > 0 {
    split($0, a, "\"} "); split(a[2], v, " "); s += v[1] } END { printf "%.0f", s }'
}

# warm the JIT and fill the cache with every document
wrk -t2 -c32 -d20s -s "$work/hit.lua" "$url" >/dev/null
wrk -t2 -c16 -d5s -s "$work/ceiling.lua" "$url" >/dev/null

rows=()
ceiling_rps=""
run() { # name script connections
  local name=$1 script=$2 conns=$3
  wrk -t2 -c"$conns" -d3s -s "$work/$script" "$url" >/dev/null
  local q0 r0 q1 r1
  q0=$(metric_sum strata_storage_queries_seconds_count); r0=$(metric_sum strata_redis_commands_seconds_count)
  local e0 e1
  e0=$(metric_sum http_server_requests_seconds_count 'status="5')
  local out
  out=$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$work/$script" "$url")
  q1=$(metric_sum strata_storage_queries_seconds_count); r1=$(metric_sum strata_redis_commands_seconds_count)
  e1=$(metric_sum http_server_requests_seconds_count 'status="5')
  local rps p50 p99 total errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  # 5xx answers (404s of the miss scenario are expected) and socket errors/timeouts
  errors=$(( e1 - e0 + $(echo "$out" | awk '/Socket errors/ {gsub(",", ""); s += $4 + $6 + $8 + $10} END {print s + 0}') ))
  [ -n "$ceiling_rps" ] || ceiling_rps=$rps
  rows+=("$(printf '| %s | %s | %.0f | %s | %s | %.2f | %.2f | %.2f | %s |' "$name" "$conns" "$rps" "$p50" "$p99" \
    "$(echo "$rps / $ceiling_rps" | bc -l)" "$(echo "($q1 - $q0) / $total" | bc -l)" "$(echo "($r1 - $r0) / $total" | bc -l)" "$errors")")
}
run "ceiling (constant body, same stack)" ceiling.lua 64
run "GET hit, $docs docs" hit.lua 64
run "GET hit, $docs docs" hit.lua 16
run "GET hit, $docs docs" hit.lua 256
run "GET miss (absent ids)" miss.lua 64
run "conditional GET (304)" conditional.lua 64
run "95/5 read/write" mixed.lua 64
run "batchGet of 100 ids" batch.lua 64
run "list pages of 100" list.lua 64
rss=$(awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/$gateway/status)

{
  echo "| scenario | connections | req/s | p50 | p99 | ratio to ceiling | storage queries / req | Redis round trips / req | 5xx + socket errors |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Gateway peak RSS: $rss (JVM: -XX:MaxRAM=512m -XX:MaxRAMPercentage=75). wrk -t2, $duration per scenario after a 3 s warm-up, on $(nproc) cores shared with the services."
} | tee bench/last-run.md
