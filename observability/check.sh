#!/usr/bin/env bash
# Checks Strata's observability artifacts with real tools, on loopback:
#  1. the alert rules (PrometheusRule): schema and promtool checks, and the promtool unit tests;
#  2. a real Prometheus scraping a running gateway (the packaged jar, with a real PostgreSQL and Redis
#     Cluster from bin/local-services): it waits for the target to be up, queries a cache metric, then
#     runs every query of the Grafana dashboard; each must return data after known traffic.
# Needs the packaged gateway (./mvnw package); installs Debian's prometheus package if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
java="${JAVA_HOME:-/usr}/bin/java"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

echo "== alert rules"
rules=observability/prometheus/strata-prometheusrule.yaml
python3 -c "import yaml,sys; d=yaml.safe_load(open('$rules')); yaml.safe_dump({'groups': d['spec']['groups']}, open('$work/strata.rules.yaml','w'), sort_keys=False)"
cp observability/prometheus/strata-rules.test.yaml "$work/"
promtool check rules "$work/strata.rules.yaml"
(cd "$work" && promtool test rules strata-rules.test.yaml)
bash tools/k8s-validate/validate.sh --rules "$rules"

echo "== a gateway with real PostgreSQL and Redis Cluster"
jar=gateway/target/quarkus-app/quarkus-run.jar
[ -f "$jar" ] || { echo "build the gateway first: ./mvnw package -DskipTests" >&2; exit 1; }
bin/local-services "$work/local.env" >"$work/services.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 180); do grep -q QUARKUS_REDIS_HOSTS "$work/local.env" 2>/dev/null && break; sleep 1; done
grep -q QUARKUS_REDIS_HOSTS "$work/local.env" || { cat "$work/services.log" >&2; exit 1; }
port=18480
mport=19480   # the management interface: health and metrics
key="sk_$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)"
pepper=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
(set -a; . "$work/local.env"; set +a; STRATA_AUTH_PEPPER=$pepper STRATA_AUTH_BOOTSTRAP_ADMIN_KEY=$key \
  QUARKUS_HTTP_PORT=$port QUARKUS_MANAGEMENT_PORT=$mport exec "$java" -jar "$jar") >"$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 90); do curl -fs "http://127.0.0.1:$mport/q/health/ready" >/dev/null && break; sleep 1; done
curl -fs "http://127.0.0.1:$mport/q/health/ready" >/dev/null || { tail -50 "$work/gateway.log" >&2; exit 1; }

echo "== Prometheus"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: strata
    metrics_path: /q/metrics
    static_configs:
      - targets: ["127.0.0.1:$mport"]
YAML
prom=127.0.0.1:9099
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="$prom" >"$work/prometheus.log" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 1 60); do
  up=$(curl -fs "http://$prom/api/v1/targets" 2>/dev/null | jq -r '.data.activeTargets[0].health // empty' || true)
  [ "$up" = up ] && break
  sleep 1
done
[ "$up" = up ] || { echo "the target never came up" >&2; tail -20 "$work/prometheus.log" >&2; exit 1; }
echo "target up"

echo "== known traffic"
base="http://127.0.0.1:$port/v1/obs/docs"
auth="Authorization: Bearer $key"
for round in $(seq 1 15); do
  for i in $(seq 1 10); do
    curl -fs -o /dev/null -H "$auth" -X PUT "$base/d$i" -H 'Content-Type: application/json' -d "{\"round\":$round}"
    curl -fs -o /dev/null -H "$auth" "$base/d$i"
    curl -s -o /dev/null -H "$auth" "$base/absent$i"
    curl -fs -o /dev/null -H "$auth" -H 'Cache-Control: no-cache' "$base/d$i"
  done
  curl -fs -o /dev/null -H "$auth" -X POST "http://127.0.0.1:$port/v1/obs/docs:batchGet" -H 'Content-Type: application/json' \
    -d '{"ids":["d1","d2","d3","nope"]}'
  curl -s -o /dev/null -H "$auth" -X PUT "$base/bad" -H 'Content-Type: application/json' -d '{broken'
  sleep 1
done
sleep 3

query() {
  curl -fsG "http://$prom/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result | length'
}
hits=$(query 'strata_cache_reads_total{result="hit"}')
[ "$hits" -gt 0 ] || { echo "no cache metric in Prometheus" >&2; exit 1; }
echo "cache metric strata_cache_reads_total present ($hits series)"

echo "== every dashboard query returns data"
failed=0
while IFS= read -r expr; do
  n=$(query "$expr")
  if [ "$n" -gt 0 ]; then echo "ok ($n series): $expr"; else echo "NO DATA: $expr"; failed=1; fi
done < <(jq -r '.panels[].targets[].expr' observability/grafana/strata-dashboard.json)
[ "$failed" = 0 ] || exit 1
echo "observability checks passed"
