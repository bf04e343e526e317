#!/usr/bin/env bash
# Post-deploy smoke test: real requests against a running Strata (through the ingress, a
# port-forward to the API Service, or a local gateway), made with the bootstrap admin key.
#   deploy/smoke-test.sh BASE_URL            (the admin key in STRATA_ADMIN_KEY)
# 1. create an API key scoped to the collection "smoke" with the admin key
# 2. PUT a document, GET it (the first read puts it in Redis), replace it, GET it (expects 200, the
#    new body and "Cache-Status: strata; hit": the replacement went through the cache), DELETE it
#    (204), GET it (404). A created document is cached by its first read, never by its write
#    (docs/decisions/0002: only a token-holding fill creates an entry).
# 3. revoke the key
# Exits non-zero at the first unexpected answer, printing it.
set -euo pipefail
base=${1:?usage: deploy/smoke-test.sh BASE_URL}
admin=${STRATA_ADMIN_KEY:?STRATA_ADMIN_KEY must hold the bootstrap admin key}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
id="doc-$(date +%s)-$RANDOM"

expect() { # expected-status description curl-arguments...
  local want=$1 what=$2; shift 2
  local got
  got=$(curl -sS -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 10 "$@") || got=000
  if [ "$got" != "$want" ]; then
    echo "FAIL  $what: HTTP $got, expected $want" >&2
    cat "$work/headers" "$work/body" >&2 2>/dev/null || true
    exit 1
  fi
  echo "ok    $what ($got)"
}

expect 201 "create an API key" -X POST "$base/admin/keys" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' -d "{\"name\":\"smoke-$id\",\"scopes\":[\"write:smoke\"]}"
key=$(jq -r .secret "$work/body")
key_id=$(jq -r .id "$work/body")
[ -n "$key" ] && [ "$key" != null ] || { echo "FAIL  no secret in the answer" >&2; exit 1; }
auth="Authorization: Bearer $key"
trap 'curl -s -o /dev/null --max-time 10 -X DELETE "$base/admin/keys/$key_id" -H "Authorization: Bearer $admin"; rm -rf "$work"' EXIT

expect 201 "PUT /v1/smoke/docs/$id" -X PUT "$base/v1/smoke/docs/$id" -H "$auth" \
  -H 'Content-Type: application/json' -d '{"smoke":true}'
expect 200 "GET /v1/smoke/docs/$id (fills the cache)" "$base/v1/smoke/docs/$id" -H "$auth"
grep -q '"smoke":true' "$work/body" || { echo "FAIL  wrong body: $(cat "$work/body")" >&2; exit 1; }
expect 200 "PUT /v1/smoke/docs/$id (replace)" -X PUT "$base/v1/smoke/docs/$id" -H "$auth" \
  -H 'Content-Type: application/json' -d '{"smoke":2}'
expect 200 "GET /v1/smoke/docs/$id" "$base/v1/smoke/docs/$id" -H "$auth"
grep -qi '^cache-status: strata; hit' "$work/headers" || {
  echo "FAIL  GET after a replacing PUT was not a cache hit:" >&2; grep -i '^cache-status' "$work/headers" >&2 || echo "(no Cache-Status)" >&2; exit 1; }
echo "ok    Cache-Status: strata; hit"
grep -q '"smoke":2' "$work/body" || { echo "FAIL  not the replacement: $(cat "$work/body")" >&2; exit 1; }
expect 204 "DELETE /v1/smoke/docs/$id" -X DELETE "$base/v1/smoke/docs/$id" -H "$auth"
expect 404 "GET after DELETE" "$base/v1/smoke/docs/$id" -H "$auth"
expect 204 "revoke the key" -X DELETE "$base/admin/keys/$key_id" -H "Authorization: Bearer $admin"
trap 'rm -rf "$work"' EXIT
echo "smoke test passed against $base"
