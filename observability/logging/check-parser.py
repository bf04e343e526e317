"""Fluent Bit's parser and filters (observability/logging/fluent-bit.yaml) applied to real gateway log
lines, and its tail path's reach. Neither Fluent Bit nor Fluentd can be installed on the build
machines, so this applies their configuration as they document it: the JSON parser with Time_Key and
Time_Format (strptime, %L = fractional seconds), `nest lift` with a prefix, `modify rename`, and the
`grep` exclusion, reading every setting from the ConfigMap rather than restating it.
  python3 observability/logging/check-parser.py GATEWAY_LOG
"""
import datetime
import fnmatch
import json
import re
import sys

import yaml

config = next(d for d in yaml.safe_load_all(open("observability/logging/fluent-bit.yaml"))
              if d and d["kind"] == "ConfigMap")["data"]


def sections(text):
    found, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = {"_": line.strip("[]"), "_pairs": []}
            found.append(current)
        elif current is not None:
            key, _, value = line.partition(" ")
            current.setdefault(key, value.strip())
            current["_pairs"].append((key, value.strip()))
    return found


main = sections(config["fluent-bit.conf"])
parser = next(s for s in sections(config["parsers.conf"]) if s["_"] == "PARSER" and s["Name"] == "strata_json")
tail = next(s for s in main if s["_"] == "INPUT" and s["Name"] == "tail")
problems = []

# 1. the tail path reaches the gateway's containers only
path = tail["Path"].rsplit("/", 1)[1]
gateway_files = ["strata-7d9c8b5f6d-x2k4q_strata_strata-0123abcd.log",
                 "strata-blue-5f6d7c8b9-abcde_strata-staging_strata-89ef0123.log"]
other_files = ["strata-db-1_strata_postgres-0123abcd.log", "strata-db-pooler-rw-6c7d8-x1y2z_strata_pgbouncer-0123.log",
               "redis-0_strata_redis-0123abcd.log", "strata-fluent-bit-abcde_logging_fluent-bit-0123.log",
               "redis-cluster-create-x1y2z_strata_create-0123.log"]
for name in gateway_files:
    if not fnmatch.fnmatch(name, path):
        problems.append(f"tail path {path} misses the gateway's log {name}")
for name in other_files:
    if fnmatch.fnmatch(name, path):
        problems.append(f"tail path {path} also ships {name}, which is not Strata's")

# 2. the parser and filters on real lines
strptime = parser["Time_Format"].replace("%L", "%f")
nest = next(s for s in main if s["_"] == "FILTER" and s["Name"] == "nest")
renames = [tuple(v.split()) for k, v in next(s for s in main if s["_"] == "FILTER" and s["Name"] == "modify")["_pairs"] if k == "Rename"]
grep = next(s for s in main if s["_"] == "FILTER" and s["Name"] == "grep")
exclude_key, exclude_pattern = grep["Exclude"].split(" ", 1)
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
if len(lines) < 10:
    problems.append(f"only {len(lines)} JSON lines in {sys.argv[1]}: is the gateway logging in the prod profile?")
traced = 0
for number, line in enumerate(lines, 1):
    record = json.loads(line)
    stamp = record.get(parser["Time_Key"])
    try:
        datetime.datetime.strptime(stamp, strptime)
    except (TypeError, ValueError):
        problems.append(f"line {number}: {parser['Time_Key']}={stamp!r} does not parse with {parser['Time_Format']}")
        continue
    nested = record.pop(nest["Nested_under"], {}) or {}
    record.update({nest["Add_prefix"] + k: v for k, v in nested.items()})
    for old, new in renames:
        if old in record:
            record[new] = record.pop(old)
    if re.search(exclude_pattern, str(record.get(exclude_key, ""))):
        continue
    for field in ("severity", "logger", "message"):
        if not record.get(field):
            problems.append(f"line {number}: no {field} after the filters: {line[:200]}")
    if "trace_id" in record:
        traced += 1
        if not re.fullmatch(r"[0-9a-f]{32}", record["trace_id"]) or not re.fullmatch(r"[0-9a-f]{16}", record.get("span_id", "")):
            problems.append(f"line {number}: trace_id/span_id malformed: {record.get('trace_id')} {record.get('span_id')}")
if traced == 0:
    problems.append("no line carries a trace id after the filters: log lines written while serving requests should")

if problems:
    print("Fluent Bit configuration against real gateway logs:")
    print("\n".join("  " + p for p in problems[:20]))
    sys.exit(1)
print(f"Fluent Bit parser and filters: {len(lines)} real gateway lines parsed, {traced} with trace ids; "
      f"tail path reaches the gateway's containers only")
