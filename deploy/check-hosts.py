"""Every host the gateway is given resolves to a Service that the rendered data tier creates, in a
namespace the gateway's egress policy admits, with the pods behind it admitted on the right port, and
the data tier's ingress policies admitting the gateway's pods.

  python3 deploy/check-hosts.py NAME GATEWAY_RENDER GATEWAY_NAMESPACE DATA_RENDER [DATA_RENDER...]

A render is `helm template` output (or plain manifests); resources without a namespace belong to the
namespace the render was made for, given as RENDER:NAMESPACE. Services that operators create are
derived as they would be: a CloudNativePG Cluster X gives X-rw, X-ro and X-r selecting pods labelled
cnpg.io/cluster=X; a Pooler P gives Service P selecting cnpg.io/poolerName=P; a StatefulSet's pods get
POD.SERVICE.NAMESPACE.svc names through its headless Service.
"""
import re
import sys
from urllib.parse import urlparse

import yaml


def load(spec):
    path, _, namespace = spec.partition(":")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for d in docs:
        d.setdefault("metadata", {}).setdefault("namespace", namespace)
    return docs


name, gateway_render, gateway_ns = sys.argv[1], sys.argv[2], sys.argv[3]
gateway = load(f"{gateway_render}:{gateway_ns}")
data = [r for spec in sys.argv[4:] for r in load(spec)]
problems = []

# what answers at NAME.NAMESPACE.svc: (namespace, service) -> (pod labels, ports)
services = {}
pods = []  # (namespace, labels, ports served)
for r in data:
    kind, meta, spec = r["kind"], r["metadata"], r.get("spec", {})
    ns = meta["namespace"]
    if kind == "Service":
        services[(ns, meta["name"])] = (spec.get("selector", {}), {p["port"] for p in spec.get("ports", [])},
                                         spec.get("clusterIP") == "None")
    elif kind == "Cluster" and r["apiVersion"].startswith("postgresql.cnpg.io"):
        labels = {"cnpg.io/cluster": meta["name"]}
        for suffix in ("rw", "ro", "r"):
            services[(ns, f"{meta['name']}-{suffix}")] = (labels, {5432}, False)
        pods.append((ns, labels, {5432}))
    elif kind == "Pooler":
        labels = {"cnpg.io/poolerName": meta["name"]}
        services[(ns, meta["name"])] = (labels, {5432}, False)
        pods.append((ns, labels, {5432}))
    elif kind == "StatefulSet":
        labels = spec["template"]["metadata"]["labels"]
        ports = {p["containerPort"] for c in spec["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for i in range(spec.get("replicas", 1)):
            services[(ns, f"{meta['name']}-{i}.{spec['serviceName']}")] = (labels, ports, False)
        pods.append((ns, labels, ports))


def matches(selector, labels):
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        if op == "In" and labels.get(key) not in values or op == "NotIn" and labels.get(key) in values \
                or op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return True


def peer_admits(peer, policy_ns, ns, labels):
    """A NetworkPolicy peer (from/to entry) admits pods with these labels in namespace ns."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ns}):
            return False
    elif ns != policy_ns:
        return False
    return matches(peer.get("podSelector", {}), labels)


def admitted(policies, direction, own_ns, own_labels, peer_ns, peer_labels, port):
    """Is traffic on port allowed for the pod (own_ns, own_labels) towards/from the peer?"""
    relevant = [p for p in policies if p["metadata"]["namespace"] == own_ns
                and direction in p["spec"].get("policyTypes", ["Ingress"])
                and matches(p["spec"].get("podSelector", {}), own_labels)]
    if not relevant:
        return True  # no policy selects the pod: everything is allowed
    key = "egress" if direction == "Egress" else "ingress"
    side = "to" if direction == "Egress" else "from"
    for policy in relevant:
        for rule in policy["spec"].get(key, []) or []:
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port for p in ports):
                continue
            peers = rule.get(side)
            if not peers or any(peer_admits(peer, own_ns, peer_ns, peer_labels) for peer in peers):
                return True
    return False


deployments = [r for r in gateway if r["kind"] == "Deployment"]
config = next((r["data"] for r in gateway if r["kind"] == "ConfigMap" and r["metadata"]["name"] == "strata-config"), None)
if not deployments or config is None:
    print(f"{name}: no gateway Deployment or strata-config ConfigMap in {gateway_render}")
    sys.exit(1)
gateway_labels = deployments[0]["spec"]["template"]["metadata"]["labels"]
policies = [r for r in gateway + data if r["kind"] == "NetworkPolicy"]

targets = []
for url in config.get("QUARKUS_REDIS_HOSTS", "").split(","):
    targets.append(("QUARKUS_REDIS_HOSTS", url))
for key in ("QUARKUS_DATASOURCE_REACTIVE_URL", "STRATA_STORAGE_LISTEN_URL", "QUARKUS_DATASOURCE_JDBC_URL"):
    if key in config:
        targets.append((key, config[key]))
checked = 0
for key, url in targets:
    parsed = urlparse(url.removeprefix("jdbc:").removeprefix("vertx-reactive:"))
    host, port = parsed.hostname, parsed.port
    match = re.fullmatch(r"(.+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?", host or "")
    if not match:
        problems.append(f"{key}: {host} is not a Service name in the cluster")
        continue
    service, ns = match.group(1), match.group(2)
    if (ns, service) not in services:
        problems.append(f"{key}: {host} resolves to nothing: no Service {service} in namespace {ns} "
                        f"(data tier has: {sorted(n + '/' + s for n, s in services)})")
        continue
    labels, ports, _ = services[(ns, service)]
    if port not in ports:
        problems.append(f"{key}: {host}:{port}: the Service does not serve port {port}")
    if not admitted(policies, "Egress", gateway_ns, gateway_labels, ns, labels, port):
        problems.append(f"{key}: the gateway's egress policy does not admit {service} pods {labels} in {ns} on {port}")
    if not admitted(policies, "Ingress", ns, labels, gateway_ns, gateway_labels, port):
        problems.append(f"{key}: the data tier's ingress policy does not admit the gateway ({gateway_ns}) to {service} on {port}")
    checked += 1

if problems:
    print(f"{name}: the gateway's hosts do not all reach the data tier:")
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
print(f"{name}: {checked} gateway hosts resolve to data-tier Services, admitted both ways")
