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
check "namespace, quota and limits" bash "$validate" deploy/namespace/namespace.yaml
check "Redis Cluster StatefulSet" bash "$validate" deploy/redis/redis-cluster.yaml
check "CloudNativePG cluster, backups, recovery (schema: SKIP, fields below)" bash "$validate" deploy/postgres/*.yaml
check "workflow policy: pins, inputs, release after CI, signature, smoke test, rollback" python3 tools/check-workflows.py
for workflow in .github/workflows/*.yml; do
  check "workflow $workflow" bash "$validate" --workflow "$workflow"
done

# Renderings and fields no schema here covers
helm=$(bash "$validate" --helm)
render() { "$helm" template strata "$chart" --kube-version 1.33.0 --api-versions monitoring.coreos.com/v1 \
  --api-versions autoscaling.k8s.io/v1 "$@"; }
render --values deploy/helm/values-prod.yaml >/tmp/strata-prod.yaml
render --values deploy/helm/values-prod.yaml --set app.mesh=linkerd >/tmp/strata-linkerd.yaml
render --values deploy/helm/values-prod.yaml --set app.mesh=istio >/tmp/strata-istio.yaml
render --values deploy/helm/values-prod.yaml --set app.blueGreen.colour=blue,app.blueGreen.active=blue >/tmp/strata-blue.yaml
render --values deploy/helm/values-prod.yaml --set app.blueGreen.colour=green,app.blueGreen.router=false >/tmp/strata-green.yaml
render --values deploy/helm/values-prod.yaml --set app.blueGreen.colour=blue,app.blueGreen.active=green >/tmp/strata-switched.yaml
render --values deploy/helm/values-staging.yaml >/tmp/strata-staging.yaml
check "key fields: environments, mesh, blue-green, CloudNativePG, Redis" python3 deploy/check-fields.py
exit $failed
