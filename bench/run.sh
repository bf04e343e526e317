#!/usr/bin/env bash
# Strata's benchmark. One command builds the bench variant of the gateway (-Pbench: the production
# gateway plus three reference endpoints, into gateway/target/bench), starts a real PostgreSQL and
# Redis Cluster (bin/local-services) and gateways sized as for a 512 MiB container, loads and caches
# data sets of 10k and 100k documents of ~200 bytes, and runs each scenario with wrk after a warm-up.
#
# References, measured in the same run through the same HTTP stack, filters and API-key checks:
#   ceiling  GET /v1/{c}/bench:ceiling/{id}  a constant body of the same size, from memory
#   HMGET    GET /v1/{c}/bench:hmget/{id}    one HMGET of the document's cache entry, on the cache's
#                                            own Redis connections and guards
#   upsert   PUT /v1/{c}/bench:upsert/{id}   one INSERT ... ON CONFLICT DO UPDATE on the same pool
#
# Per scenario: req/s, p50, p99, ratios to the references at the same connection count, storage
# queries, Redis round trips and near-cache hits per request, errors (5xx and socket errors), bypassed
# reads, breaker openings and failed write-throughs (deltas of the gateway's own metrics), the time
# writes waited for near-cache lease holders, and the gateway's RSS. Every scenario runs on healthy
# services: one with any error, bypass, breaker opening or failed write-through is FAILED, and the
# script exits non-zero at the end (after printing everything).
#
# Then: the strict read's Redis path (a second gateway whose near cache does not answer strict reads),
# a long mixed run (reads with 5 % writes), the near cache's write wait with 3 gateways, and
# flame graphs of the hit paths (async-profiler, bench/profile-*.html).
#
#   bench/run.sh [DURATION=8s] [LARGEST=100000]
#   environment: MIXED_DURATION (5m), QUICK=1 (3 s scenarios, 10k documents, 20 s mixed run),
#                PROFILE=0 (no flame graphs), BUILD=0 (reuse the last bench build)
set -euo pipefail
cd "$(dirname "$0")/.."
# the whole script is one function, read before it runs: editing the file cannot change a run under way
main() {
command="$(for knob in QUICK MIXED_DURATION PROFILE BUILD; do [ -n "${!knob:-}" ] && printf '%s=%s ' "$knob" "${!knob}"; done; true)bench/run.sh${1:+ $1}${2:+ $2}"
quick=${QUICK:-0}
if [ "$quick" = 1 ]; then
  duration=${1:-3s}; largest=${2:-10000}; mixed_duration=${MIXED_DURATION:-20s}; warmup=2s
else
  duration=${1:-8s}; largest=${2:-100000}; mixed_duration=${MIXED_DURATION:-5m}; warmup=3s
fi
profile=${PROFILE:-1}
docs=10000
sizes=()
for size in 10000 100000; do [ "$size" -le "$largest" ] && sizes+=("$size"); done
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
java="${JAVA_HOME:-/usr}/bin/java"
command -v wrk >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v psql >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; }
command -v bc >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null; }

jar=gateway/target/bench/quarkus-app/quarkus-run.jar
if [ "${BUILD:-1}" = 1 ] || [ ! -f "$jar" ]; then
  echo "building the bench variant of the gateway (-Pbench, into gateway/target/bench)"
  ./mvnw -q -B -ntp -Pbench -pl gateway -am package -DskipTests
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${failed:-0}" != 0 ] || [ "${finished:-0}" != 1 ]; then
    local keep="${TMPDIR:-/tmp}/strata-bench-$(date +%Y%m%d-%H%M%S)"
    mkdir -p "$keep" && cp "$work"/*.log "$keep"/ 2>/dev/null && echo "gateway and service logs kept in $keep"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

profiler=""
if [ "$profile" = 1 ]; then
  ./mvnw -q -B -ntp -N dependency:copy -Dartifact=tools.profiler:async-profiler:4.1 -DoutputDirectory="$work/ap" >/dev/null 2>&1 \
    && (cd "$work/ap" && unzip -q -o async-profiler-4.1.jar linux-x64/libasyncProfiler.so) \
    && profiler="$work/ap/linux-x64/libasyncProfiler.so" || echo "async-profiler not available: no flame graphs"
fi

bin/local-services "$work/local.env" >"$work/services.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 180); do grep -q STRATA_POSTGRES_PORT "$work/local.env" 2>/dev/null && break; sleep 1; done
set -a; . "$work/local.env"; set +a

# credentials for this run: the gateways' pepper and bootstrap admin key (no rate limit: the benchmark
# measures the request path; authentication itself runs on every request, the references' included)
key="sk_$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
pepper=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
free_port() { # a port that is free, and so is port + 1000 (the management port)
  local p used
  used=$(ss -ltn | awk '{print $4}')
  for _ in $(seq 1 50); do
    p=$(( 12000 + RANDOM % 19000 )) # below the ephemeral range (32768 up): no outgoing connection holds it
    grep -Eq ":($p|$((p + 1000)))\$" <<<"$used" || { echo "$p"; return; }
  done
  return 1
}
declare -gA url murl gpid
start_gateway() { # name [VAR=value ...]: health and metrics on the API port + 1000
  local name=$1 port
  shift
  port=$(free_port)
  env STRATA_AUTH_PEPPER="$pepper" STRATA_AUTH_BOOTSTRAP_ADMIN_KEY="$key" STRATA_AUTH_DEFAULT_RATE_LIMIT=0 \
    QUARKUS_HTTP_PORT="$port" QUARKUS_MANAGEMENT_PORT=$((port + 1000)) QUARKUS_LOG_CONSOLE_JSON_ENABLED=false "$@" \
    "$java" -XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError -jar "$jar" >"$work/$name.log" 2>&1 &
  pids+=($!)
  gpid[$name]=$!
  url[$name]="http://127.0.0.1:$port"
  murl[$name]="http://127.0.0.1:$((port + 1000))"
}
await_ready() { # name
  for _ in $(seq 1 120); do curl -fs "${murl[$1]}/q/health/ready" >/dev/null && return; sleep 1; done
  echo "gateway $1 did not become ready:"; tail -30 "$work/$1.log"; exit 1
}
stop_gateway() { kill "${gpid[$1]}" 2>/dev/null || true; wait "${gpid[$1]}" 2>/dev/null || true; }
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/${gpid[$1]}/status"; }

start_gateway a
await_ready a

export PGPASSWORD=$QUARKUS_DATASOURCE_PASSWORD
load() { # collection count
  # a bulk change: one lock for the statement instead of one per row (migration V5)
  psql -q -h 127.0.0.1 -p "$STRATA_POSTGRES_PORT" -U postgres -d postgres -c "
    BEGIN;
    SET LOCAL strata.bulk_write = on;
    INSERT INTO documents (collection, id, version, body)
    SELECT '$1', 'd' || g, nextval('strata_version_seq'),
           convert_to('{\"n\":' || g || ',\"pad\":\"' || repeat('x', 170) || '\"}', 'UTF8')
    FROM generate_series(0, $2 - 1) g;
    COMMIT;"
}
for size in "${sizes[@]}"; do
  echo "loading $size documents of ~200 bytes into collection b$size"
  load "b$size" "$size"
done
# the write scenarios replace documents that exist, PUT in w10000 and the upsert reference in bref
load w10000 10000
load bref 10000

# wrk scripts: every thread draws its own random sequence
lua_header() { # seed
  cat <<LUA
local threads = 0
function setup(thread) threads = threads + 1; thread:set("thread_number", threads) end
function init(args) math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919 + $1) end
local auth = "Bearer $key"
LUA
}
get_script() { # file seed path-prefix range [extra header lua]
  { lua_header "$2"; cat <<LUA
local headers = {["Authorization"] = auth${5:+, $5}}
request = function() return wrk.format("GET", "$3" .. math.random(0, $4 - 1), headers) end
LUA
  } >"$work/$1"
}
put_script() { # file seed path-prefix range
  { lua_header "$2"; cat <<LUA
local headers = {["Content-Type"] = "application/json", ["Authorization"] = auth}
request = function()
  return wrk.format("PUT", "$3" .. math.random(0, $4 - 1), headers, '{"n":' .. math.random(0, 1000000) .. ',"pad":"' .. string.rep("y", 170) .. '"}')
end
LUA
  } >"$work/$1"
}
for size in "${sizes[@]}"; do
  get_script "hit-$size.lua" "$size" "/v1/b$size/docs/d" "$size"
  # every document once, in order (fills the near cache before the scenarios on this data set)
  cat >"$work/walk-$size.lua" <<LUA
local i = -1
local headers = {["Authorization"] = "Bearer $key"}
request = function() i = (i + 1) % $size; return wrk.format("GET", "/v1/b$size/docs/d" .. i, headers) end
LUA
done
get_script ceiling.lua 1 "/v1/b$docs/bench:ceiling/d" "$docs"
get_script hmget.lua 2 "/v1/b$docs/bench:hmget/d" "$docs"
get_script conditional.lua 3 "/v1/b$docs/docs/d" "$docs" '["If-None-Match"] = "*"'
get_script hot.lua 4 "/v1/b$docs/docs/d" 1000
put_script put.lua 5 "/v1/w10000/docs/d" 10000
put_script upsert.lua 6 "/v1/bref/bench:upsert/d" 10000
put_script put-hot.lua 7 "/v1/b$docs/docs/d" 1000
{ lua_header 8; cat <<LUA
local headers = {["Authorization"] = auth}
request = function() return wrk.format("GET", "/v1/b$docs/docs/absent-" .. math.random(1, 1000000000) .. "-" .. math.random(1, 1000000000), headers) end
LUA
} >"$work/miss.lua"
{ lua_header 9; cat <<LUA
local reads = {["Authorization"] = auth}
local writes = {["Content-Type"] = "application/json", ["Authorization"] = auth}
request = function()
  local id = "/v1/b$docs/docs/d" .. math.random(0, $docs - 1)
  if math.random(1, 100) <= 5 then
    return wrk.format("PUT", id, writes, '{"n":' .. math.random(0, 1000000) .. ',"pad":"' .. string.rep("y", 170) .. '"}')
  end
  return wrk.format("GET", id, reads)
end
LUA
} >"$work/mixed.lua"
{ lua_header 10; cat <<LUA
local headers = {["Content-Type"] = "application/json", ["Authorization"] = auth}
request = function()
  local ids = {}
  for i = 1, 100 do ids[i] = '"d' .. math.random(0, $docs - 1) .. '"' end
  return wrk.format("POST", "/v1/b$docs/docs:batchGet", headers, '{"ids":[' .. table.concat(ids, ",") .. ']}')
end
LUA
} >"$work/batch.lua"
cat >"$work/list.lua" <<LUA
local headers = {["Authorization"] = "Bearer $key"}
request = function() return wrk.format("GET", "/v1/b$docs/docs?limit=100", headers) end
LUA
# made-up keys as the gateway issues them (sk_ and 43 characters of base64url), a new one per request
{ lua_header 11; cat <<'LUA'
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
request = function()
  local key = {}
  for i = 1, 43 do local r = math.random(1, 64); key[i] = alphabet:sub(r, r) end
  return wrk.format("GET", "/v1/flood/docs/d" .. math.random(0, 9999), {["Authorization"] = "Bearer sk_" .. table.concat(key)})
end
LUA
} >"$work/flood.lua"

# fill Redis with every document of every data set (batchGet, 100 ids per request, 16 in flight)
fill() { # size
  local size=$1
  awk -v size="$size" -v url="${url[a]}/v1/b$size/docs:batchGet" 'BEGIN {
    for (base = 0; base < size; base += 100) {
      ids = ""
      for (i = base; i < base + 100 && i < size; i++) ids = ids (i > base ? "," : "") "\\\"d" i "\\\""
      printf "%surl = \"%s\"\nheader = \"Content-Type: application/json\"\nheader = \"Authorization: Bearer '"$key"'\"\ndata = \"{\\\"ids\\\":[%s]}\"\noutput = \"/dev/null\"\n", (base > 0 ? "next\n" : ""), url, ids
    } }' >"$work/fill-$size.curl"
  curl -s --no-progress-meter --parallel --parallel-max 16 -K "$work/fill-$size.curl" >/dev/null 2>&1
}
for size in "${sizes[@]}"; do
  start=$(date +%s)
  fill "$size"
  echo "cached $size documents in Redis in $(( $(date +%s) - start )) s"
done
walk() { # size: every document of the data set once through gateway A, 32 in flight
  wrk -t1 -c32 -d"$(( $1 / 4000 + 2 ))s" -s "$work/walk-$1.lua" "${url[a]}" >/dev/null
}
# warm the JIT on the paths measured
wrk -t2 -c32 -d"$([ "$quick" = 1 ] && echo 5s || echo 15s)" -s "$work/hit-$docs.lua" "${url[a]}" >/dev/null
wrk -t2 -c16 -d5s -s "$work/ceiling.lua" "${url[a]}" >/dev/null
wrk -t2 -c16 -d5s -s "$work/hmget.lua" "${url[a]}" >/dev/null

# ------------------------------------------------------------------------------------------ scenarios
scrape() { curl -fs "${murl[$1]}/q/metrics" >"$2"; }
# the value of a sample line, without the exemplar that may follow it (" # {trace_id=...} value time")
sample='function sample(line) { sub(/ # \{.*$/, "", line); n = split(line, f, " "); return f[n] + 0 }'
msum() { # file name [label fragment]: the sum of a metric's series
  awk -v name="$2" -v frag="${3:-}" "$sample"'
    (index($0, name "{") == 1 || index($0, name " ") == 1) && index($0, frag) > 0 { s += sample($0) }
    END { printf "%.6f", s }' "$1"
}
mdelta() { awk -v a="$(msum "$1" "$3" "${4:-}")" -v b="$(msum "$2" "$3" "${4:-}")" 'BEGIN { printf "%.6f", b - a }'; }
quantile() { # file name q: a summary's published quantile, in ms
  awk -v name="$2" -v q="quantile=\"$3\"" "$sample"' index($0, name "{") == 1 && index($0, q) > 0 { printf "%.2f", sample($0) * 1000; exit }' "$1"
}
to_ms() { echo "$1" | awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
  printf "%.3f", (u == "us" ? v / 1000 : u == "s" ? v * 1000 : u == "m" ? v * 60000 : v) }'; }
ratio() { awk -v a="$1" -v b="${2:-}" 'BEGIN { if (b == "" || b + 0 == 0) printf "–"; else printf "%.2f", a / b }'; }
per() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }'; }

rows=()
declare -gA rps p99 value
failed=0
# run id label kind gateway script connections [duration]
#   kind: ceiling | hmget | upsert (references) | read | write | mixed
run() {
  local id=$1 label=$2 kind=$3 gw=$4 script=$5 conns=$6 length=${7:-$duration}
  local m0="$work/m0" m1="$work/m1" out
  wrk -t2 -c"$conns" -d"$warmup" -s "$work/$script" "${url[$gw]}" >/dev/null
  scrape "$gw" "$m0"
  out=$(wrk -t2 -c"$conns" -d"$length" --latency -s "$work/$script" "${url[$gw]}")
  scrape "$gw" "$m1"
  local r total l50 l99 sock non2xx errors q rt near bypass openings wtfail waits waited reads
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  l50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  l99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  sock=$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); s += $4 + $6 + $8 + $10} END {print s + 0}')
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses/ {print $NF}'); non2xx=${non2xx:-0}
  errors=$(awk -v a="$(mdelta "$m0" "$m1" http_server_requests_seconds_count 'status="5')" -v s="$sock" 'BEGIN { printf "%.0f", a + s }')
  q=$(mdelta "$m0" "$m1" strata_storage_queries_seconds_count)
  rt=$(mdelta "$m0" "$m1" strata_redis_commands_seconds_count)
  near=$(mdelta "$m0" "$m1" strata_cache_near_reads_total 'result="hit"')
  bypass=$(mdelta "$m0" "$m1" strata_cache_reads_total 'result="bypass"' | awk '{printf "%.0f", $1}')
  openings=$(mdelta "$m0" "$m1" strata_redis_breaker_openings_total | awk '{printf "%.0f", $1}')
  wtfail=$(mdelta "$m0" "$m1" strata_cache_write_throughs_total 'result="failed"' | awk '{printf "%.0f", $1}')
  waits=$(mdelta "$m0" "$m1" strata_cache_near_write_wait_seconds_count)
  waited=$(mdelta "$m0" "$m1" strata_cache_near_write_wait_seconds_sum)
  reads=$(mdelta "$m0" "$m1" http_server_requests_seconds_count 'method="GET"')
  local stalls unconfirmed confirmed
  stalls=$(mdelta "$m0" "$m1" strata_redis_failures_total 'kind="stall"' | awk '{printf "%.0f", $1}')
  unconfirmed=$(mdelta "$m0" "$m1" strata_redis_failures_total 'kind="unconfirmed"' | awk '{printf "%.0f", $1}')
  confirmed=$(mdelta "$m0" "$m1" strata_redis_failures_total 'kind="confirmed"' | awk '{printf "%.0f", $1}')
  rps[$id]=$r; p99[$id]=$(to_ms "$l99")
  value[$id:bypass]=$bypass; value[$id:openings]=$openings; value[$id:wtfail]=$wtfail; value[$id:errors]=$errors
  value[$id:queries]=$(per "$q" "$total"); value[$id:reads]=$reads; value[$id:rt]=$(per "$rt" "$total")
  value[$id:near]=$(per "$near" "$total")
  local ceiling_ratio hmget_ratio upsert_ratio wait_ms verdict=ok
  ceiling_ratio=$(ratio "$r" "${rps[ceiling:$conns]:-${rps[ceiling:64]:-}}")
  hmget_ratio="–"; upsert_ratio="–"; wait_ms="–"
  case $kind in
    read|mixed|hmget) hmget_ratio=$(ratio "$r" "${rps[hmget-$gw:$conns]:-${rps[hmget-$gw:64]:-}}") ;;
  esac
  case $kind in
    write|mixed|upsert) upsert_ratio=$(ratio "$r" "${rps[upsert:$conns]:-${rps[upsert:64]:-}}") ;;
  esac
  if awk -v n="$waits" 'BEGIN { exit !(n > 0) }'; then
    wait_ms=$(awk -v s="$waited" -v n="$waits" 'BEGIN { printf "%.2f ms", s / n * 1000 }')
  fi
  # answers other than 2xx/3xx are expected only where documents are absent
  if [ "$errors" != 0 ] || [ "$bypass" != 0 ] || { [ "$non2xx" != 0 ] && [ "$id" != miss ] && [ "$kind" != hmget ]; } || [ "$openings" != 0 ] || [ "$wtfail" != 0 ]; then
    verdict="**FAILED**"; failed=1
  fi
  rows+=("| $label | $conns | $(printf '%.0f' "$r") | $l50 | $l99 | $non2xx | $ceiling_ratio | $hmget_ratio | $upsert_ratio | ${value[$id:queries]} | ${value[$id:rt]} | ${value[$id:near]} | $errors | $bypass | $stalls/$unconfirmed/$confirmed | $openings | $wtfail | $wait_ms | $(rss "$gw") | $verdict |")
  echo "${rows[-1]}"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "| scenario | conns | req/s | p50 | p99 | not 2xx/3xx | ÷ ceiling | ÷ HMGET | ÷ upsert | storage q/req | Redis rt/req | near hits/req | errors | bypasses | Redis failures s/u/c | breaker openings | failed write-throughs | write wait (mean) | RSS MiB | verdict |"
# each comparison runs next to its references, at the same connection count: the machine is shared
for (( i = ${#sizes[@]} - 1; i >= 0; i-- )); do walk "${sizes[i]}"; done
for c in 16 64 256; do
  run "ceiling:$c" "ceiling (constant body, same stack)" ceiling a ceiling.lua "$c"
  run "hmget-a:$c" "HMGET reference (one Redis round trip)" hmget a hmget.lua "$c"
  for size in "${sizes[@]}"; do run "hit$size:$c" "strict hit, $size docs (near cache)" read a "hit-$size.lua" "$c"; done
done
run miss "miss (absent ids)" read a miss.lua 64
run conditional "conditional GET (304)" read a conditional.lua 64
run batch "batchGet of 100 cached ids" read a batch.lua 64
run list "list pages of 100" read a list.lua 64
run rw "95/5 read/write" mixed a mixed.lua 64
for c in 16 64; do
  run "upsert:$c" "upsert reference (one INSERT … ON CONFLICT)" upsert a upsert.lua "$c"
  run "put:$c" "PUT (replace, 10k ids)" write a put.lua "$c"
done
# A flood of made-up keys from 4 connections, as fast as they go, beside strict reads at 16
# connections: the reads' p99 against the same reads alone, measured just before.
run flood-quiet "strict hit, $docs docs, quiet (flood baseline)" read a "hit-$docs.lua" 16
seconds() { echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /m$/) v *= 60; print v }'; }
flood_out="$work/flood.out"
wrk -t1 -c4 -d"$(( $(seconds "$warmup") + $(seconds "$duration") + 4 ))s" -s "$work/flood.lua" "${url[a]}" >"$flood_out" &
flooder=$!
sleep 1
scrape a "$work/f0"
run flood "strict hit, $docs docs, during a flood of made-up keys" read a "hit-$docs.lua" 16
scrape a "$work/f1"
wait "$flooder"
flood_rate=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$flood_out")
flood_sent=$(awk '/requests in/ {print $1}' "$flood_out")
flood_refused=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$flood_out")
flood_lookups=$(mdelta "$work/f0" "$work/f1" strata_auth_key_lookups_total | awk '{printf "%.0f", $1}')
rss_peak_a=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/${gpid[a]}/status")

# Profiling: async-profiler loaded into a running gateway (jcmd), CPU samples during one wrk run.
flame() { # gateway script name: bench/profile-NAME.html and a summary of its top frames
  [ -n "$profiler" ] || return 0
  local pid=${gpid[$1]} jcmd="${JAVA_HOME:-/usr}/bin/jcmd"
  # jcmd would read "a=b" as a named argument of its own: the agent's options go quoted
  "$jcmd" "$pid" JVMTI.agent_load "$profiler" "\"start,event=cpu,interval=1ms\"" >/dev/null
  wrk -t2 -c64 -d"$duration" -s "$work/$2" "${url[$1]}" >/dev/null
  "$jcmd" "$pid" JVMTI.agent_load "$profiler" "\"dump,collapsed,file=$work/profile-$3.collapsed\"" >/dev/null
  "$jcmd" "$pid" JVMTI.agent_load "$profiler" "\"stop,file=$PWD/bench/profile-$3.html\"" >/dev/null
  if [ -s "$work/profile-$3.collapsed" ]; then
    bench/flame-summary "$work/profile-$3.collapsed" 25 >"bench/profile-$3.txt"
  else
    echo "no profile of $3 (see the gateway's log)"
  fi
}

# The strict read's Redis path: a second gateway of the same build, whose near cache does not answer
# strict reads (STRATA_CACHE_NEAR_STRICT_READS=false), so that every strict read is an HMGET of the
# same cache entries, next to the HMGET reference on the same process.
start_gateway r STRATA_CACHE_NEAR_STRICT_READS=false
await_ready r
wrk -t2 -c32 -d"$([ "$quick" = 1 ] && echo 5s || echo 15s)" -s "$work/hit-$docs.lua" "${url[r]}" >/dev/null
wrk -t2 -c32 -d"$([ "$quick" = 1 ] && echo 5s || echo 10s)" -s "$work/hmget.lua" "${url[r]}" >/dev/null
for c in 16 64 256; do
  run "hmget-r:$c" "HMGET reference, gateway R" hmget r hmget.lua "$c"
  run "redis$docs:$c" "strict hit, $docs docs, Redis path (gateway R)" read r "hit-$docs.lua" "$c"
done
flame r "hit-$docs.lua" redis-path
stop_gateway r

# The long mixed run: reads with 5 % writes, uniform over 10k documents.
run long "mixed 95/5 for $mixed_duration" mixed a mixed.lua 64 "$mixed_duration"

# The near cache's write wait across instances: writes on a fresh gateway B, strict reads of the same
# documents on A and C (each holds a lease, so each write waits for their answers).
start_gateway b
start_gateway c
await_ready b
await_ready c
for g in b c; do wrk -t1 -c16 -d5s -s "$work/hot.lua" "${url[$g]}" >/dev/null; done
wrk -t1 -c16 -d"$warmup" -s "$work/put-hot.lua" "${url[b]}" >/dev/null
scrape b "$work/w0"
wrk -t1 -c16 -d"$duration" -s "$work/hot.lua" "${url[a]}" >/dev/null &
reader_a=$!
wrk -t1 -c16 -d"$duration" -s "$work/hot.lua" "${url[c]}" >/dev/null &
reader_c=$!
writes=$(wrk -t1 -c16 -d"$duration" --latency -s "$work/put-hot.lua" "${url[b]}")
wait "$reader_a" "$reader_c"
scrape b "$work/w1"
wait_n=$(mdelta "$work/w0" "$work/w1" strata_cache_near_write_wait_seconds_count)
wait_mean=$(awk -v s="$(mdelta "$work/w0" "$work/w1" strata_cache_near_write_wait_seconds_sum)" -v n="$wait_n" 'BEGIN { printf "%.2f", (n > 0 ? s / n * 1000 : 0) }')
wait_p50=$(quantile "$work/w1" strata_cache_near_write_wait_seconds 0.5)
wait_p99=$(quantile "$work/w1" strata_cache_near_write_wait_seconds 0.99)
three_wtfail=$(mdelta "$work/w0" "$work/w1" strata_cache_write_throughs_total 'result="failed"' | awk '{printf "%.0f", $1}')
three_openings=$(mdelta "$work/w0" "$work/w1" strata_redis_breaker_openings_total | awk '{printf "%.0f", $1}')
three_errors=$(awk -v a="$(mdelta "$work/w0" "$work/w1" http_server_requests_seconds_count 'status="5')" -v s="$(echo "$writes" | awk '/Socket errors/ {gsub(",", ""); s += $4 + $6 + $8 + $10} END {print s + 0}')" 'BEGIN { printf "%.0f", a + s }')
three_rps=$(echo "$writes" | awk '/Requests\/sec/ {printf "%.0f", $2}')
three_p50=$(echo "$writes" | awk '$1 == "50%" {print $2}')
three_p99=$(echo "$writes" | awk '$1 == "99%" {print $2}')
# one hop of that wait: from a write's publication to its receipt by a holder (strata_cache_near_invalidation_delay_seconds)
scrape a "$work/wa"; scrape c "$work/wc"
delay_of() { awk -v q="quantile=\"$2\"" "$sample"' index($0, "strata_cache_near_invalidation_delay_seconds{") == 1 && index($0, "origin=\"peer\"") > 0 \
  && index($0, q) > 0 { printf "%.1f", sample($0) * 1000; exit }' "$1"; }
delays="A p50 $(delay_of "$work/wa" 0.5) ms, p99 $(delay_of "$work/wa" 0.99) ms; C p50 $(delay_of "$work/wc" 0.5) ms, p99 $(delay_of "$work/wc" 0.99) ms"
three_verdict=ok
if [ "$three_wtfail" != 0 ] || [ "$three_openings" != 0 ] || [ "$three_errors" != 0 ]; then three_verdict="**FAILED**"; failed=1; fi
stop_gateway b
stop_gateway c

flame a ceiling.lua ceiling
flame a "hit-$docs.lua" near-hit
rss_peak_a=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/${gpid[a]}/status")

# ------------------------------------------------------------------------------------------ targets
met() { awk "BEGIN { exit !($1) }" && echo "met" || echo "**missed**"; }
targets=()
target() { targets+=("| $1 | $2 | $3 |"); }
for size in "${sizes[@]}"; do
  for c in 16 64 256; do
    r=$(ratio "${rps[hit$size:$c]}" "${rps[ceiling:$c]}"); pr=$(ratio "${p99[hit$size:$c]}" "${p99[ceiling:$c]}")
    target "strict hit ≥ 0.9× ceiling, p99 ≤ 1.5× ceiling's ($size docs, $c conns)" "$r×, p99 $pr×" "$(met "$r >= 0.9 && $pr <= 1.5")"
  done
  lo=$(echo "${rps[hit$size:16]} ${rps[hit$size:64]} ${rps[hit$size:256]}" | awk '{m = $1; for (i = 2; i <= 3; i++) if ($i < m) m = $i; print m}')
  hi=$(echo "${rps[hit$size:16]} ${rps[hit$size:64]} ${rps[hit$size:256]}" | awk '{m = $1; for (i = 2; i <= 3; i++) if ($i > m) m = $i; print m}')
  spread=$(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.0f", (1 - a / b) * 100 }')
  target "strict hit throughput 16→256 within 15 % ($size docs)" "$spread % (min $(printf '%.0f' "$lo"), max $(printf '%.0f' "$hi"))" "$(met "$spread <= 15")"
  q256=${value[hit$size:256:queries]}; e256=${value[hit$size:256:errors]}
  target "at 256 conns: 0 storage queries per hit, no 5xx or socket errors ($size docs)" "$q256 queries/req, $e256 errors" "$(met "$q256 == 0 && $e256 == 0")"
done
for c in 16 64 256; do
  r=$(ratio "${rps[redis$docs:$c]}" "${rps[hmget-r:$c]}")
  target "strict hit that misses the near cache ≥ 0.9× HMGET reference ($c conns)" "$r×" "$(met "$r >= 0.9")"
done
for c in 16 64; do
  r=$(ratio "${rps[put:$c]}" "${rps[upsert:$c]}")
  target "PUT ≥ 0.5× upsert reference ($c conns), 0 failed write-throughs" "$r×, ${value[put:$c:wtfail]} failed" "$(met "$r >= 0.5 && ${value[put:$c:wtfail]} == 0")"
done
target "PUT throughput does not fall from 16 to 64 conns" "$(printf '%.0f → %.0f req/s' "${rps[put:16]}" "${rps[put:64]}")" "$(met "${rps[put:64]} >= ${rps[put:16]}")"
target "batchGet of 100 cached ids reads no storage" "${value[batch:queries]} queries/req" "$(met "${value[batch:queries]} == 0")"
long_bypass=$(awk -v b="${value[long:bypass]}" -v n="${value[long:reads]}" 'BEGIN { printf "%.3f", (n > 0 ? b / n * 100 : 0) }')
target "mixed run ($mixed_duration, 64 conns): 0 breaker openings, 0 failed write-throughs, bypassed reads ≤ 0.1 %" \
  "${value[long:openings]} openings, ${value[long:wtfail]} failed, $long_bypass % bypassed (${value[long:bypass]} of $(printf '%.0f' "${value[long:reads]}") reads)" \
  "$(met "${value[long:openings]} == 0 && ${value[long:wtfail]} == 0 && $long_bypass <= 0.1")"
target "write's added latency ≤ 2 ms p50 with 3 instances" "p50 ${wait_p50:-?} ms, p99 ${wait_p99:-?} ms, mean $wait_mean ms" "$(met "${wait_p50:-99} <= 2")"
fr=$(ratio "${p99[flood]}" "${p99[flood-quiet]}")
target "a flood of made-up keys ($flood_rate keys/s from 4 connections): strict reads' p99 ≤ 2× quiet, storage lookups of keys capped" \
  "p99 ${p99[flood]} ms vs ${p99[flood-quiet]} ms quiet ($fr×); ${flood_refused:-0} of $flood_sent made-up keys refused; $flood_lookups key lookups" \
  "$(met "$fr <= 2 && ${flood_refused:-0} == $flood_sent")"
target "peak RSS within a 512 MiB container at 256 conns, near cache full" "$rss_peak_a MiB" "$(met "$rss_peak_a <= 512")"

{
  echo "Command: \`$command\` ($duration per scenario after a $warmup warm-up, wrk -t2, $largest documents at most, mixed run $mixed_duration; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores shared by wrk, the gateways, PostgreSQL and a 3-master Redis Cluster, and by whatever else runs on the machine)."
  echo "Load average (1, 5, 15 min) when the scenarios began: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| scenario | conns | req/s | p50 | p99 | not 2xx/3xx | ÷ ceiling | ÷ HMGET | ÷ upsert | storage q/req | Redis rt/req | near hits/req | errors | bypasses | Redis failures s/u/c | breaker openings | failed write-throughs | write wait (mean) | RSS MiB | verdict |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Ratios compare with the reference at the same connection count: ceiling and upsert on gateway A; HMGET on the gateway of the row (A, or R for the Redis path)."
  echo "Redis failures s/u/c: calls that failed while this process stalled / failures no probe confirmed / failures a probe confirmed (strata_redis_failures_total; only confirmed ones count for a breaker)."
  echo "errors: 5xx answers and wrk socket errors (the 404s of the miss scenario are answers). write wait: mean time a write waited for the near-cache lease holders' answers (strata_cache_near_write_wait_seconds)."
  echo "Gateway A peak RSS: $rss_peak_a MiB (JVM: -XX:MaxRAM=512m -XX:MaxRAMPercentage=50)."
  echo
  echo "Near-cache write wait with 3 gateways (PUT of 1,000 hot ids on B at 16 conns, strict reads of the same ids on A and C at 16 conns each, $duration):"
  echo "$three_rps PUT/s, p50 $three_p50, p99 $three_p99; wait for lease holders p50 ${wait_p50:-?} ms, p99 ${wait_p99:-?} ms (B's summary, its recent window), mean $wait_mean ms over $(printf '%.0f' "$wait_n") writes; $three_wtfail failed write-throughs, $three_openings breaker openings, $three_errors errors: $three_verdict."
  echo "Delay from a write's publication to its receipt by the holders (their recent window): $delays."
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  printf '%s\n' "${targets[@]}"
  if [ -n "$profiler" ]; then
    echo
    echo "Flame graphs (async-profiler, CPU, wrk -c64 $duration): bench/profile-ceiling.html (the ceiling, gateway A), bench/profile-near-hit.html (strict hits from the near cache, gateway A), bench/profile-redis-path.html (strict hits through Redis, gateway R); where the time goes in bench/profile-*.txt."
  fi
} | tee bench/last-run.md
finished=1
if [ "$failed" != 0 ]; then
  echo "FAILED: a healthy scenario had errors, bypassed reads, breaker openings or failed write-throughs (see the table)"
  exit 1
fi
}
main "$@"
