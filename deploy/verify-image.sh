#!/usr/bin/env bash
# Verifies the cosign keyless signature of an image before it is deployed: the signing certificate
# must have been issued to this repository's release workflow, run on main or on a release tag, by
# GitHub's OIDC issuer. A signature made by any other workflow, branch, fork or repository fails.
#   deploy/verify-image.sh IMAGE@sha256:DIGEST        (GITHUB_REPOSITORY=owner/name)
#   deploy/verify-image.sh --print-identity           the identity regular expression only
set -euo pipefail
repository=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY must be owner/name}
[[ "$repository" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || { echo "not a repository name: $repository" >&2; exit 1; }
escaped=${repository//./\\.}
identity="^https://github\\.com/${escaped}/\\.github/workflows/release\\.yml@refs/(heads/main|tags/v[0-9]+\\.[0-9]+\\.[0-9]+)\$"
issuer=https://token.actions.githubusercontent.com
if [ "${1:-}" = --print-identity ]; then
  echo "$identity"
  exit 0
fi
image=${1:?usage: deploy/verify-image.sh IMAGE@sha256:DIGEST}
[[ "$image" =~ ^[a-z0-9./_-]+@sha256:[0-9a-f]{64}$ ]] || { echo "not an image reference by digest: $image" >&2; exit 1; }
cosign verify "$image" --certificate-identity-regexp "$identity" --certificate-oidc-issuer "$issuer" >/dev/null
echo "signature ok: $image (signed by $repository's release workflow)"
