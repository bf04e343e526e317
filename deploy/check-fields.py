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
assert egress_ports == [53, 4318, 5432, 6379, 8200], f"egress only to DNS, Redis, PostgreSQL, collector, Vault: {egress_ports}"
ingress_ports = sorted({p["port"] for rule in find(prod, "NetworkPolicy", "strata-ingress")["spec"]["ingress"] for p in rule["ports"]})
assert ingress_ports == [8080, 9000], ingress_ports
deployment = find(prod, "Deployment", "strata")
assert deployment["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "disabled", "no mesh by default"
assert deployment["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
config = find(prod, "ConfigMap", "strata-config")["data"]
assert config["QUARKUS_REDIS_HOSTS"].startswith("redis://strata:${quarkus.redis.password}@") and config["STRATA_CACHE_REPLICA_ACKS"] == "1"
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
assert linkerd_in == {8080, 9000, 4143, 4191}, linkerd_in
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

# management off the API port: the Service and the Ingress carry the API port only; the ingress
# controller reaches only it, Prometheus only the management port, which a PodMonitor scrapes
for render, resources in (("prod", prod), ("staging", docs("/tmp/strata-staging.yaml"))):
    service = find(resources, "Service", "strata")
    assert [(p["name"], p["targetPort"]) for p in service["spec"]["ports"]] == [("http", 8080)], \
        f"{render}: the API Service exposes only the API port: {service['spec']['ports']}"
    container = find(resources, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named == {"http": 8080, "management": 9000}, named
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == named["management"], f"{render}: {probe} on the management port"
    assert "ServiceMonitor" not in kinds(resources), f"{render}: nothing scrapes through the API Service"
    monitor = find(resources, "PodMonitor")
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["management"]
    assert monitor["metadata"]["labels"].get("release") == "kube-prometheus-stack", "the operator's default selector"
    rules = find(resources, "PrometheusRule")
    assert rules["metadata"]["labels"] == monitor["metadata"]["labels"]
    standalone = docs("observability/prometheus/strata-prometheusrule.yaml")[0]
    assert rules["spec"] == standalone["spec"], "the chart's rules are the promtool-tested ones"
    sources = {}
    for rule in find(resources, "NetworkPolicy", "strata-ingress")["spec"]["ingress"]:
        for peer in rule["from"]:
            ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            sources.setdefault(ns, set()).update(p["port"] for p in rule["ports"])
    assert sources == {"ingress-nginx": {8080}, "monitoring": {9000}}, f"{render}: {sources}"
ingress_backends = {p["backend"]["service"]["port"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
assert ingress_backends == {"http"}, ingress_backends

# certificates: cert-manager issues the Ingress's TLS secret; staging from the staging issuer
assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
staging_ingress = find(staging, "Ingress")
assert staging_ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"
issuers = {r["metadata"]["name"]: r for r in docs("deploy/cert-manager/cluster-issuers.yaml")}
assert set(issuers) == {"letsencrypt-prod", "letsencrypt-staging"}
assert "staging" in issuers["letsencrypt-staging"]["spec"]["acme"]["server"]
assert "staging" not in issuers["letsencrypt-prod"]["spec"]["acme"]["server"]
for issuer in issuers.values():
    assert issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClassName"] == "nginx"

# traces: prod exports to the collector, whose port the egress policy admits
prod_config = find(prod, "ConfigMap", "strata-config")["data"]
endpoint = prod_config["QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
assert endpoint.startswith("http://") and prod_config["QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
assert int(endpoint.rsplit(":", 1)[1]) in egress_ports, f"collector port {endpoint} not admitted: {egress_ports}"

# PostgreSQL: verify-full in prod, two roles (owner migrates, the request role has DML only)
assert "sslmode=verify-full" in prod_config["QUARKUS_DATASOURCE_REACTIVE_URL"]
assert "sslmode=verify-full&sslrootcert=" in prod_config["QUARKUS_DATASOURCE_JDBC_URL"]
assert prod_config["QUARKUS_DATASOURCE_REACTIVE_TLS_CONFIGURATION_NAME"] == "postgres"
ca_path = prod_config["QUARKUS_TLS__POSTGRES__TRUST_STORE_PEM_CERTS"]
mounts = {m["mountPath"]: m["name"] for m in find(prod, "Deployment")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
assert ca_path.rsplit("/", 1)[0] in mounts, f"the CA at {ca_path} is mounted"
ca_volume = lambda resources: next(v for v in find(resources, "Deployment")["spec"]["template"]["spec"]["volumes"]
                                   if v["name"] == mounts[ca_path.rsplit("/", 1)[0]])["secret"]["secretName"]
assert ca_volume(prod) == "strata-db-ca", "CloudNativePG's CA of strata-db"
assert ca_volume(docs("/tmp/strata-pitr.yaml")) == "strata-db-restored-ca", "after a recovery, the restored cluster's CA"

data_prod = docs("/tmp/strata-data-prod.yaml")
cluster = find(data_prod, "Cluster", "strata-db")
store = cluster["spec"]["backup"]["barmanObjectStore"]
assert store["destinationPath"].startswith("s3://") and store["wal"]["compression"], "WAL archived to object storage"
assert cluster["spec"]["instances"] >= 3 and cluster["spec"]["affinity"]["enablePodAntiAffinity"]
assert cluster["spec"]["backup"]["retentionPolicy"]
initdb = cluster["spec"]["bootstrap"]["initdb"]
owner, app_role = initdb["owner"], cluster["spec"]["managed"]["roles"][0]
sql = " ".join(initdb["postInitApplicationSQL"])
assert f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role['name']}" in sql
assert f"FOR ROLE {owner}" in sql and "REVOKE ALL ON SCHEMA public FROM PUBLIC" in sql
assert not any(word in sql.upper() for word in ("GRANT ALL", "CREATE ON SCHEMA PUBLIC TO " + app_role["name"].upper()))
assert app_role["login"] and not app_role["superuser"] and not app_role["createdb"] and not app_role["createrole"]
scheduled = find(data_prod, "ScheduledBackup")
assert scheduled["spec"]["cluster"]["name"] == "strata-db" and len(scheduled["spec"]["schedule"].split()) == 6
alt_names = set(cluster["spec"]["certificates"]["serverAltDNSNames"])
poolers = {r["metadata"]["name"]: r for r in data_prod if r["kind"] == "Pooler"}
assert {p["spec"]["pgbouncer"]["poolMode"] for p in poolers.values()} == {"transaction", "session"}
assert all(name in alt_names for name in poolers), "verify-full through the poolers: their names are in the certificate"
recovery = find(docs("/tmp/strata-data-pitr.yaml"), "Cluster", "strata-db-restored")
assert recovery["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"]
assert recovery["spec"]["externalClusters"][0]["barmanObjectStore"]["destinationPath"] == store["destinationPath"]
region_b = find(docs("/tmp/strata-data-region-b.yaml"), "Cluster", "strata-db-region-b")
assert region_b["spec"]["replica"]["enabled"] is False, "promoted"

# connection budget: at the HPA's maximum, every pod's connections fit the database's max_connections
properties = dict(line.split("=", 1) for line in open("gateway/src/main/resources/application.properties").read().splitlines()
                  if "=" in line and not line.startswith(("#", "%")))
pool = int(prod_config.get("QUARKUS_DATASOURCE_REACTIVE_MAX_SIZE", properties["quarkus.datasource.reactive.max-size"]))
jdbc = int(prod_config.get("QUARKUS_DATASOURCE_JDBC_MAX_SIZE", properties["quarkus.datasource.jdbc.max-size"]))
pods = hpa["spec"]["maxReplicas"]
max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
reserved = 3 + 10  # superuser_reserved_connections, and the operator, replication and backups
if "pooler-rw" in prod_config["QUARKUS_DATASOURCE_REACTIVE_URL"]:
    rw, listen = poolers["strata-db-pooler-rw"], poolers["strata-db-pooler-listen"]
    assert prod_config["QUARKUS_DATASOURCE_REACTIVE_POSTGRESQL_USE_LAYER7_PROXY"] == "true", "no named statements through PgBouncer"
    assert prod_config["QUARKUS_DATASOURCE_REACTIVE_CACHE_PREPARED_STATEMENTS"] == "false"
    assert "pooler-listen" in prod_config["STRATA_STORAGE_LISTEN_URL"], "LISTEN through the session-mode pooler"
    clients = pods * pool
    assert clients <= int(rw["spec"]["pgbouncer"]["parameters"]["max_client_conn"]) * rw["spec"]["instances"], clients
    server = sum(int(p["spec"]["pgbouncer"]["parameters"]["default_pool_size"]) * p["spec"]["instances"] for p in poolers.values())
    assert pods <= int(listen["spec"]["pgbouncer"]["parameters"]["default_pool_size"]) * listen["spec"]["instances"], \
        "one listening session per pod"
    total = server + pods * jdbc
else:
    total = pods * (pool + 1 + jdbc)
assert total + reserved <= max_connections, \
    f"{pods} pods need {total} connections (+{reserved} reserved) but max_connections is {max_connections}"

# Redis Cluster: 3 masters with a replica each, stable DNS names, passwords as files, ACL users,
# only the gateway on 6379 and only Redis pods on the bus
redis = [r for r in data_prod if r["metadata"]["name"].startswith("redis")]
assert find(redis, "Service", "redis")["spec"]["clusterIP"] == "None"
assert find(redis, "Service", "redis")["spec"]["publishNotReadyAddresses"] is True
statefulset = find(redis, "StatefulSet", "redis")
assert statefulset["spec"]["replicas"] == 6
container = statefulset["spec"]["template"]["spec"]["containers"][0]
assert "password" not in " ".join(container["command"] + container.get("args", [])).lower()
assert not any("secretKeyRef" in str(e) for e in container.get("env", [])), "no password in the environment"
volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
assert volumes["secrets"]["secret"]["secretName"] == "strata-redis"
assert any(e["name"] == "ANNOUNCE_HOSTNAME" and ".redis.strata.svc" in e["value"] for e in container["env"])
conf = find(redis, "ConfigMap", "redis")["data"]
assert "aclfile /run/redis/users.acl" in conf["redis.conf"] and "cluster-preferred-endpoint-type hostname" in conf["redis.conf"]
# a pure cache: a restarted node comes back empty, never older (docs/decisions/0002, point 8)
assert "appendonly no" in conf["redis.conf"] and 'save ""' in conf["redis.conf"], conf["redis.conf"]
assert "appendonly yes" not in conf["redis.conf"]
# eviction takes only keys with a TTL: the near-cache lease registry and owed sets have none (LeaseScripts)
assert "maxmemory-policy volatile-lru" in conf["redis.conf"], conf["redis.conf"]
# the ACL user may run every command the cache tier's scripts call, and the commands it sends itself
import glob, re
scripted = set()
for source in glob.glob("cache-tier/src/main/java/io/strata/cache/**/*.java", recursive=True):
    scripted |= {c.lower() for c in re.findall(r"redis\.call\('([A-Za-z]+)'", open(source).read())}
sent = {"hmget", "evalsha", "eval", "set", "exists", "wait", "publish", "subscribe", "ping"}
rules = conf["strata.acl"].split()
missing = sorted(c for c in scripted | sent if "+" + c not in rules)
assert not missing, "commands Strata sends that the ACL user may not run: %s" % missing
assert "user default off" in conf["start.sh"] and "~strata:*" in conf["strata.acl"] and "-@all" in conf["strata.acl"]
assert "+@all" not in conf["strata.acl"] and "+flushall" not in conf["strata.acl"] and "+config" not in conf["strata.acl"]
job = find(redis, "Job")
assert "--cluster-replicas 1" in " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
policy = find(redis, "NetworkPolicy", "redis")["spec"]["ingress"]
by_port = {}
for rule in policy:
    for port in rule["ports"]:
        by_port.setdefault(port["port"], []).extend(rule["from"])
assert set(by_port) == {6379, 16379}
bus = by_port[16379]
assert bus == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}}], bus
client_peers = [p.get("podSelector", {}).get("matchLabels", {}) for p in by_port[6379]]
assert {"app.kubernetes.io/name": "strata"} in client_peers and all(
    labels.get("app.kubernetes.io/name") in ("strata", "redis", "redis-cluster-create") for labels in client_peers), client_peers
for r in data_prod:
    assert r["kind"] != "Secret", "no Secret values committed"

# cluster autoscaling: Karpenter consolidates one node at a time, nodes have no public address
karpenter = docs("deploy/cluster/karpenter-nodepool.yaml")
pool = find(karpenter, "NodePool")["spec"]
assert pool["disruption"]["budgets"] == [{"nodes": "1"}] and pool["template"]["spec"]["expireAfter"]
assert find(karpenter, "EC2NodeClass")["spec"]["associatePublicIPAddress"] is False
assert hpa["spec"]["maxReplicas"] * 2 <= int(pool["limits"]["cpu"]), "the node pool can hold the HPA's maximum (2 CPU limit each)"
# the aggregator admits the node agents only
fluentd = docs("observability/logging/fluentd.yaml")
assert find(fluentd, "NetworkPolicy")["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "strata-fluent-bit"}
print("deployment fields: ok")
