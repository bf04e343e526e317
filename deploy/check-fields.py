"""Fields of Strata's deployment that no offline schema covers (run by deploy/check.sh, which renders
the chart into /tmp/strata-*.yaml first). Each assertion names what an operator relies on."""
import yaml


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def find(resources, kind, name=None):
    found = [r for r in resources if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)]
    assert found, f"no {kind} {name or ''}"
    return found[0]


def kinds(resources):
    return sorted(r["kind"] for r in resources)


# prod: autoscaled, disruption budget, VPA in recommendation mode, TLS ingress
prod = docs("/tmp/strata-prod.yaml")
hpa = find(prod, "HorizontalPodAutoscaler")
assert hpa["spec"]["minReplicas"] >= 2 and {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}
assert find(prod, "PodDisruptionBudget")["spec"]["minAvailable"] >= 1
assert find(prod, "VerticalPodAutoscaler")["spec"]["updatePolicy"]["updateMode"] == "Off", "VPA must not fight the HPA"
ingress = find(prod, "Ingress")
assert ingress["spec"]["tls"][0]["secretName"], "ingress terminates TLS"
policies = [r for r in prod if r["kind"] == "NetworkPolicy"]
deny = find(prod, "NetworkPolicy", "strata-default-deny")
assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny["spec"] and "egress" not in deny["spec"]
egress = find(prod, "NetworkPolicy", "strata-egress")["spec"]["egress"]
egress_ports = sorted({p["port"] for rule in egress for p in rule["ports"]})
assert egress_ports == [53, 4317, 5432, 6379, 8200], f"egress only to DNS, Redis, PostgreSQL, collector, Vault: {egress_ports}"
ingress_ports = sorted({p["port"] for rule in find(prod, "NetworkPolicy", "strata-ingress")["spec"]["ingress"] for p in rule["ports"]})
assert ingress_ports == [8080], ingress_ports
deployment = find(prod, "Deployment", "strata")
assert deployment["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "disabled", "no mesh by default"
assert deployment["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
config = find(prod, "ConfigMap", "strata-config")["data"]
assert config["QUARKUS_REDIS_HOSTS"].startswith("redis://") and config["STRATA_CACHE_REPLICA_ACKS"] == "1"
assert not any(k for k in config if "PASSWORD" in k or "SECRET" in k), "no secret in the ConfigMap"

# staging: single node, no PDB, no HPA
staging = docs("/tmp/strata-staging.yaml")
assert "PodDisruptionBudget" not in kinds(staging) and "HorizontalPodAutoscaler" not in kinds(staging)
assert find(staging, "Deployment")["spec"]["replicas"] == 1

# mesh: Linkerd or Istio injection, the network policies still hold (and admit the proxy ports only)
linkerd = docs("/tmp/strata-linkerd.yaml")
assert find(linkerd, "Deployment")["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
assert "strata-default-deny" in [r["metadata"]["name"] for r in linkerd if r["kind"] == "NetworkPolicy"]
linkerd_in = {p["port"] for rule in find(linkerd, "NetworkPolicy", "strata-ingress")["spec"]["ingress"] for p in rule["ports"]}
assert linkerd_in == {8080, 4143, 4191}, linkerd_in
istio = docs("/tmp/strata-istio.yaml")
assert find(istio, "Deployment")["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"] == "true"
assert any(p["port"] == 15012 for rule in find(istio, "NetworkPolicy", "strata-egress")["spec"]["egress"] for p in rule["ports"])

# blue-green: two releases side by side, the router release's Service follows the active colour
blue, green, switched = docs("/tmp/strata-blue.yaml"), docs("/tmp/strata-green.yaml"), docs("/tmp/strata-switched.yaml")
assert find(blue, "Deployment")["metadata"]["name"] == "strata-blue"
assert find(green, "Deployment")["metadata"]["name"] == "strata-green"
assert find(green, "Deployment")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "strata-green"
assert "Service" not in kinds(green) and "ServiceAccount" not in kinds(green) and "ConfigMap" not in kinds(green), \
    "the second colour shares the router release's Service, account and configuration"
assert find(blue, "Service")["spec"]["selector"]["app.kubernetes.io/instance"] == "strata-blue"
assert find(switched, "Service")["spec"]["selector"]["app.kubernetes.io/instance"] == "strata-green"

# CloudNativePG: continuous WAL archiving, scheduled base backups, point-in-time recovery, region B
postgres = docs("deploy/postgres/cluster.yaml")
cluster = find(postgres, "Cluster", "strata-db")
store = cluster["spec"]["backup"]["barmanObjectStore"]
assert store["destinationPath"].startswith("s3://") and store["wal"]["compression"], "WAL archived to object storage"
assert cluster["spec"]["instances"] >= 3 and cluster["spec"]["affinity"]["enablePodAntiAffinity"]
assert cluster["spec"]["backup"]["retentionPolicy"]
scheduled = find(postgres, "ScheduledBackup")
assert scheduled["spec"]["cluster"]["name"] == "strata-db" and len(scheduled["spec"]["schedule"].split()) == 6
recovery = find(docs("deploy/postgres/recovery-pitr.yaml"), "Cluster")
assert recovery["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"]
assert recovery["spec"]["externalClusters"][0]["barmanObjectStore"]["destinationPath"] == store["destinationPath"]
replica = find(docs("deploy/postgres/replica-cluster-region-b.yaml"), "Cluster")
assert replica["spec"]["replica"]["enabled"] is True

# Redis Cluster: 3 masters with a replica each, stable DNS through a headless Service, password from a Secret
redis = docs("deploy/redis/redis-cluster.yaml")
assert find(redis, "Service", "redis")["spec"]["clusterIP"] == "None"
assert find(redis, "StatefulSet", "redis")["spec"]["replicas"] == 6
assert "--cluster-replicas 1" in " ".join(find(redis, "Job")["spec"]["template"]["spec"]["containers"][0]["args"])
for r in postgres + redis:
    assert r["kind"] != "Secret", "no Secret values committed"
print("deployment fields: ok")
