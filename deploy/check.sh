#!/usr/bin/env bash
# Offline checks of everything Strata deploys with (no cluster needed), run by .ci/run after the build:
#   - the manifests quarkus-kubernetes generated, and the chart quarkus-helm generated rendered for
#     dev, staging and prod, against the Kubernetes schemas (helm lint --strict, unknown fields)
#   - the Redis, PostgreSQL (CloudNativePG) and namespace manifests in deploy/
#   - blue-green and service-mesh renderings, and the fields no schema here covers (CNPG, mesh)
#   - the GitHub workflows against the GitHub Actions schema
#   deploy/check.sh            (the validator is tools/k8s-validate, set up from package registries)
set -euo pipefail
cd "$(dirname "$0")/.."
validate=tools/k8s-validate/validate.sh
chart=gateway/target/helm/kubernetes/strata
[ -d "$chart" ] || { echo "build first: ./mvnw package -DskipTests (the chart is generated)"; exit 1; }
failed=0
check() { # description command...
  local what=$1; shift
  if "$@" >/tmp/strata-check.log 2>&1; then echo "ok    $what"; else echo "FAIL  $what"; cat /tmp/strata-check.log; failed=1; fi
}

check "CI needs nothing outside the repository" python3 tools/check-self-contained.py
check "generated manifests (target/kubernetes/kubernetes.yml)" bash "$validate" gateway/target/kubernetes/kubernetes.yml
for env in dev staging prod; do
  check "chart with deploy/helm/values-$env.yaml" bash "$validate" --chart "$chart" --values "deploy/helm/values-$env.yaml"
done
for env in staging prod; do
  check "data tier (deploy/data) with deploy/data/values-$env.yaml (CloudNativePG schema: SKIP, fields below)" \
    bash "$validate" --chart deploy/data --values "deploy/data/values-$env.yaml"
done
check "workflow policy: pins, inputs, release after CI, signature, smoke test, rollback" python3 tools/check-workflows.py
check "log shipping: Fluent Bit agent, Fluentd aggregator" bash "$validate" observability/logging/fluent-bit.yaml observability/logging/fluentd.yaml
check "cert-manager issuers, Karpenter node pool (schemas: SKIP, fields below)" bash "$validate" deploy/cert-manager/cluster-issuers.yaml deploy/cluster/karpenter-nodepool.yaml
# the CDN example compiles with Varnish's own compiler (the backend resolved to loopback: VCC
# resolves backend names at compile time, and the cluster's name does not resolve here)
if ! command -v varnishd >/dev/null && [ ! -x /usr/sbin/varnishd ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends varnish >/dev/null
fi
sed 's/"strata.strata.svc"/"127.0.0.1"/' deploy/cdn/strata.vcl >/tmp/strata-cdn.vcl
check "CDN example (deploy/cdn/strata.vcl) compiles" env PATH="$PATH:/usr/sbin" varnishd -C -f /tmp/strata-cdn.vcl
for workflow in .github/workflows/*.yml; do
  check "workflow $workflow" bash "$validate" --workflow "$workflow"
done

# Renderings and fields no schema here covers
helm=$(bash "$validate" --helm)
render() { "$helm" template strata "$chart" --namespace strata --kube-version 1.33.0 --api-versions monitoring.coreos.com/v1 \
  --api-versions autoscaling.k8s.io/v1 "$@"; }
render --values deploy/helm/values-prod.yaml >/tmp/strata-prod.yaml
render --values deploy/helm/values-prod.yaml --set app.mesh=linkerd >/tmp/strata-linkerd.yaml
render --values deploy/helm/values-prod.yaml --set app.mesh=istio >/tmp/strata-istio.yaml
render --values deploy/helm/values-prod.yaml --set app.blueGreen.colour=blue,app.blueGreen.active=blue >/tmp/strata-blue.yaml
render --values deploy/helm/values-prod.yaml --set app.blueGreen.colour=green,app.blueGreen.router=false >/tmp/strata-green.yaml
render --values deploy/helm/values-prod.yaml --set app.blueGreen.colour=blue,app.blueGreen.active=green >/tmp/strata-switched.yaml
render --values deploy/helm/values-staging.yaml --namespace strata-staging >/tmp/strata-staging.yaml
data() { "$helm" template data deploy/data --kube-version 1.33.0 "$@"; }
data --namespace strata --values deploy/data/values-prod.yaml >/tmp/strata-data-prod.yaml
data --namespace strata-staging --values deploy/data/values-staging.yaml >/tmp/strata-data-staging.yaml

# Every host the gateway is given reaches a Service the data tier creates, admitted both ways: per
# environment, with the data tier in another namespace, and along the disaster-recovery runbook
hosts() { check "hosts: $1" python3 deploy/check-hosts.py "$@"; }
hosts "prod" /tmp/strata-prod.yaml strata /tmp/strata-data-prod.yaml:strata
hosts "staging" /tmp/strata-staging.yaml strata-staging /tmp/strata-data-staging.yaml:strata-staging
render --namespace strata-staging --values deploy/helm/values-staging.yaml \
  --set app.redis.namespace=strata-data-staging,app.database.namespace=strata-data-staging >/tmp/strata-split.yaml
data --namespace strata-data-staging --values deploy/data/values-staging.yaml --set gateway.namespace=strata-staging >/tmp/strata-data-split.yaml
hosts "gateway and data tier in two namespaces" /tmp/strata-split.yaml strata-staging /tmp/strata-data-split.yaml:strata-data-staging
# point-in-time recovery (docs/operations.md): the restored cluster beside the old one, the gateway moved to it
data --namespace strata --values deploy/data/values-prod.yaml --set postgres.recovery.enabled=true \
  --set-string postgres.recovery.targetTime="2026-11-30 08:00:00+00" >/tmp/strata-data-pitr.yaml
render --namespace strata --values deploy/helm/values-prod.yaml --set app.database.cluster=strata-db-restored >/tmp/strata-pitr.yaml
hosts "after point-in-time recovery" /tmp/strata-pitr.yaml strata /tmp/strata-data-pitr.yaml:strata
check "recovery cluster against the schemas" bash "$validate" /tmp/strata-data-pitr.yaml
# region failover: the replica cluster in region B, promoted, with the gateway deployed there against it
data --namespace strata --values deploy/data/values-prod.yaml --set postgres.regionB.enabled=true,postgres.regionB.promote=true >/tmp/strata-data-region-b.yaml
render --namespace strata --values deploy/helm/values-prod.yaml --set app.database.cluster=strata-db-region-b >/tmp/strata-region-b.yaml
hosts "after a region failover" /tmp/strata-region-b.yaml strata /tmp/strata-data-region-b.yaml:strata
check "region-B cluster against the schemas" bash "$validate" /tmp/strata-data-region-b.yaml
check "key fields: environments, mesh, blue-green, management port, CloudNativePG, Redis" python3 deploy/check-fields.py
exit $failed
