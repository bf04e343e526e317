#!/usr/bin/env bash
# Strata's benchmark: one command starts a real PostgreSQL and Redis Cluster (bin/local-services),
# the packaged gateway with the JVM sized as for a 512 MiB container, loads data sets of 10k, 100k and
# 1M documents, and runs each scenario with wrk after a warm-up. In the same run it measures the
# ceiling: the same process answering a constant body of the same size through the same HTTP stack
# (/v1/{c}/bench:ceiling, enabled only here). Prints a table: req/s, p50, p99, ratio to the ceiling,
# storage queries and Redis round trips per request, errors, and the process's peak RSS; then the
# near cache's cross-instance invalidation delay, measured on a second gateway while the first takes
# writes.
#   bench/run.sh [DURATION=10s] [LARGEST=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
largest=${2:-1000000}
docs=10000
sizes=()
for size in 10000 100000 1000000; do [ "$size" -le "$largest" ] && sizes+=("$size"); done
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
peer_port=18581
# credentials for this run: the gateways' pepper and bootstrap admin key (no per-key rate limit:
# the benchmark measures the request path; authentication itself runs on every request, ceiling included)
key="sk_$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)"
pepper=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
start_gateway() { # port log (health and metrics on port + 1000)
  STRATA_AUTH_PEPPER=$pepper STRATA_AUTH_BOOTSTRAP_ADMIN_KEY=$key STRATA_AUTH_DEFAULT_RATE_LIMIT=0 \
  STRATA_BENCH_CEILING_ENABLED=true QUARKUS_HTTP_PORT=$1 QUARKUS_MANAGEMENT_PORT=$(($1 + 1000)) QUARKUS_LOG_CONSOLE_JSON_ENABLED=false \
    "${JAVA_HOME:-/usr}/bin/java" -XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError -jar "$jar" >"$2" 2>&1 &
  pids+=($!)
}
start_gateway $port "$work/gateway.log"
gateway=${pids[-1]}
for _ in $(seq 1 90); do curl -fs "http://127.0.0.1:$((port + 1000))/q/health/ready" >/dev/null && break; sleep 1; done

export PGPASSWORD=$QUARKUS_DATASOURCE_PASSWORD
pgport=$STRATA_POSTGRES_PORT
for size in "${sizes[@]}"; do
  echo "loading $size documents of ~200 bytes into collection b$size"
  psql -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -c "
    INSERT INTO documents (collection, id, version, body)
    SELECT 'b$size', 'd' || g, nextval('strata_version_seq'),
           convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat('x', 170) || '\"}', 'UTF8')
    FROM generate_series(0, $size - 1) g"
done

url="http://127.0.0.1:$port"
peer_url="http://127.0.0.1:$peer_port"
murl="http://127.0.0.1:$((port + 1000))"
peer_murl="http://127.0.0.1:$((peer_port + 1000))"
for size in "${sizes[@]}"; do
  cat >"$work/hit-$size.lua" <<LUA
math.randomseed(os.time() + $size)
request = function() return wrk.format("GET", "/v1/b$size/docs/d" .. math.random(0, $size - 1), {["Authorization"] = "Bearer $key"}) end
LUA
done
cat >"$work/near.lua" <<LUA
math.randomseed(os.time() + 13)
request = function() return wrk.format("GET", "/v1/b$docs/docs/d" .. math.random(0, $docs - 1), {["Cache-Control"] = "max-stale=1", ["Authorization"] = "Bearer $key"}) end
LUA
cat >"$work/near-hot.lua" <<LUA
math.randomseed(os.time() + 17)
request = function() return wrk.format("GET", "/v1/b$docs/docs/d" .. math.random(0, 999), {["Cache-Control"] = "max-stale=1", ["Authorization"] = "Bearer $key"}) end
LUA
cat >"$work/miss.lua" <<LUA
math.randomseed(os.time() + 7)
request = function() return wrk.format("GET", "/v1/b10000/docs/absent-" .. math.random(1, 1000000000) .. "-" .. math.random(1, 1000000000), {["Authorization"] = "Bearer $key"}) end
LUA
cat >"$work/conditional.lua" <<LUA
math.randomseed(os.time() + 3)
request = function() return wrk.format("GET", "/v1/b$docs/docs/d" .. math.random(0, $docs - 1), {["If-None-Match"] = "*", ["Authorization"] = "Bearer $key"}) end
LUA
cat >"$work/mixed.lua" <<LUA
math.randomseed(os.time() + 5)
request = function()
  local id = "/v1/b$docs/docs/d" .. math.random(0, $docs - 1)
  if math.random(1, 100) <= 5 then
    return wrk.format("PUT", id, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $key"}, '{"n":1,"pad":"' .. string.rep("y", 170) .. '"}')
  end
  return wrk.format("GET", id, {["Authorization"] = "Bearer $key"})
end
LUA
cat >"$work/batch.lua" <<LUA
math.randomseed(os.time() + 11)
request = function()
  local ids = {}
  for i = 1, 100 do ids[i] = '"d' .. math.random(0, $docs - 1) .. '"' end
  return wrk.format("POST", "/v1/b$docs/docs:batchGet", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $key"}, '{"ids":[' .. table.concat(ids, ",") .. ']}')
end
LUA
cat >"$work/list.lua" <<LUA
request = function() return wrk.format("GET", "/v1/b$docs/docs?limit=100", {["Authorization"] = "Bearer $key"}) end
LUA
cat >"$work/ceiling.lua" <<LUA
request = function() return wrk.format("GET", "/v1/b$docs/bench:ceiling", {["Authorization"] = "Bearer $key"}) end
LUA

metric_sum() { # name [label fragment]
  curl -fs "$murl/q/metrics" | awk -v name="$1" -v frag="${2:-}" 'index($0, name "{") == 1 && index($0, frag) > 0 {
    split($0, a, "\"} "); split(a[2], v, " "); s += v[1] } END { printf "%.0f", s }'
}

# fill the cache with every document of every data set, then warm the JIT
warm() { # size: every document once, 100 per batchGet, 16 requests in flight (one curl process)
  local size=$1
  awk -v size="$size" -v url="$url/v1/b$size/docs:batchGet" 'BEGIN {
    for (base = 0; base < size; base += 100) {
      ids = ""
      for (i = base; i < base + 100 && i < size; i++) ids = ids (i > base ? "," : "") "\\\"d" i "\\\""
      printf "%surl = \"%s\"\nheader = \"Content-Type: application/json\"\nheader = \"Authorization: Bearer '"$key"'\"\ndata = \"{\\\"ids\\\":[%s]}\"\noutput = \"/dev/null\"\n", (base > 0 ? "next\n" : ""), url, ids
    } }' >"$work/warm-$size.curl"
  curl -s --no-progress-meter --parallel --parallel-max 16 -K "$work/warm-$size.curl" >/dev/null 2>&1
}
for size in "${sizes[@]}"; do
  start=$(date +%s)
  warm "$size"
  echo "cached $size documents in $(( $(date +%s) - start )) s"
done
wrk -t2 -c32 -d15s -s "$work/hit-$docs.lua" "$url" >/dev/null
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
run "GET hit, $docs docs" hit-$docs.lua 64
run "GET hit, $docs docs" hit-$docs.lua 16
run "GET hit, $docs docs" hit-$docs.lua 256
for size in "${sizes[@]:1}"; do
  run "GET hit, $size docs" hit-$size.lua 64
done
run "GET max-stale=1 (near cache), $docs docs" near.lua 64
run "GET max-stale=1 (near cache), hot 1000 of $docs" near-hot.lua 64
run "GET max-stale=1 (near cache), hot 1000 of $docs" near-hot.lua 256
run "ceiling (constant body, same stack)" ceiling.lua 256
run "GET miss (absent ids)" miss.lua 64
run "conditional GET (304)" conditional.lua 64
run "95/5 read/write" mixed.lua 64
run "batchGet of 100 ids" batch.lua 64
run "list pages of 100" list.lua 64
rss=$(awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/$gateway/status)

# Cross-instance invalidation: a second gateway serves max-stale reads of the hot set while the first
# takes the 95/5 workload; the second records, per message, the delay from publication to receipt.
start_gateway $peer_port "$work/peer.log"
for _ in $(seq 1 90); do curl -fs "$peer_murl/q/health/ready" >/dev/null && break; sleep 1; done
sed -e 's/math.random(0, $docs - 1)/math.random(0, 999)/' "$work/mixed.lua" >"$work/mixed-hot.lua"
wrk -t1 -c16 -d5s -s "$work/near-hot.lua" "$peer_url" >/dev/null
wrk -t1 -c32 -d"$duration" -s "$work/mixed-hot.lua" "$url" >/dev/null &
wrk -t1 -c32 -d"$duration" -s "$work/near-hot.lua" "$peer_url" >"$work/peer-wrk.txt"
wait %% 2>/dev/null || true
quantile() { curl -fs "$peer_murl/q/metrics" | awk -v q="$1" 'index($0, "strata_cache_near_invalidation_delay_seconds{") == 1 \
  && index($0, "origin=\"peer\"") > 0 && index($0, "quantile=\"" q "\"") > 0 { printf "%.1f ms", $NF * 1000 }'; }
received=$(curl -fs "$peer_murl/q/metrics" | awk 'index($0, "strata_cache_near_invalidation_delay_seconds_count{") == 1 && index($0, "origin=\"peer\"") > 0 { printf "%.0f", $NF }')

{
  echo "| scenario | connections | req/s | p50 | p99 | ratio to ceiling | storage queries / req | Redis round trips / req | 5xx + socket errors |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Gateway peak RSS: $rss (JVM: -XX:MaxRAM=512m -XX:MaxRAMPercentage=50). wrk -t2, $duration per scenario after a 3 s warm-up, on $(nproc) cores shared with the services."
  echo "Ratios compare with the ceiling at 64 connections (first row); the ceiling at 256 connections is its own row."
  echo
  echo "Near-cache invalidation across instances (95/5 writes on one gateway, max-stale reads on a second, both under load):"
  echo "${received:-0} invalidations received from the peer; delay from publication to receipt p50 $(quantile 0.5), p99 $(quantile 0.99)."
} | tee bench/last-run.md
