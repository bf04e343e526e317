"""What the GitHub Actions schema cannot say about Strata's workflows (run by deploy/check.sh).

- Actions in a job that holds a write or id-token permission are pinned by commit, with the version
  in a comment, and the pair is one of .github/action-pins.txt; any pinned reference anywhere matches
  that file. No action is referenced by a tag that its publisher removed (trivy-action's unprefixed ones).
- A Trivy scan that writes SARIF limits it to the gate's severities.
- No workflow input, event field or secret is expanded into a shell script: they go through `env:`;
  rollback.yml validates its revision as a whole number before use.
- release.yml runs only after a successful ci run of a push to main, builds the commit CI tested,
  deploys to staging and production the same (native) digest after verifying its signature against
  this repository's release workflow, smoke-tests each and rolls back when the test fails.
- The native CI job reports start time and RSS in the job summary.
"""
import pathlib
import re
import subprocess
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
workflows = root / ".github" / "workflows"
problems = []


def fail(message):
    problems.append(message)


pins = {}
for line in (root / ".github" / "action-pins.txt").read_text().splitlines():
    if line.strip() and not line.startswith("#"):
        action, version, commit = line.split()
        pins[action] = (version, commit)


def load(name):
    text = (workflows / name).read_text()
    return text, yaml.safe_load(text)


def triggers(workflow):
    # PyYAML reads the key `on` as the boolean True
    return workflow.get("on", workflow.get(True)) or {}


def writes(permissions):
    if permissions in ("write-all",):
        return True
    if isinstance(permissions, dict):
        return any(value == "write" for value in permissions.values())
    return False


uses_line = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(?:#\s*(\S+))?", re.M)
for path in sorted(workflows.glob("*.yml")):
    text, workflow = load(path.name)
    lines = text.splitlines()
    top_writes = writes(workflow.get("permissions"))
    if "permissions" not in workflow:
        fail(f"{path.name}: no top-level permissions (the token would get the repository default)")
    for job_name, job in workflow["jobs"].items():
        privileged = writes(job.get("permissions", workflow.get("permissions"))) or (
            "permissions" not in job and top_writes)
        for step in job.get("steps", []):
            ref = step.get("uses")
            if ref:
                line = next((l for l in lines if re.search(r"uses:\s*" + re.escape(ref) + r"(\s|$)", l)), "")
                comment = re.search(r"#\s*(v\S+)", line)
                action, _, version = ref.partition("@")
                pinned = re.fullmatch(r"[0-9a-f]{40}", version) is not None
                if action == "aquasecurity/trivy-action" and re.fullmatch(r"\d+\.\d+\.\d+", version):
                    fail(f"{path.name}/{job_name}: {ref}: trivy-action's unprefixed tags were removed by its publisher")
                if privileged and not ref.startswith("./"):
                    if not pinned:
                        fail(f"{path.name}/{job_name}: {ref} is not pinned by commit in a job holding write or id-token permissions")
                    elif not comment:
                        fail(f"{path.name}/{job_name}: {ref} has no version comment")
                if pinned:
                    known = pins.get(action)
                    if known is None:
                        fail(f"{path.name}/{job_name}: {action} is not in .github/action-pins.txt")
                    elif known[1] != version or (comment and comment.group(1) != known[0]):
                        fail(f"{path.name}/{job_name}: {ref} # {comment.group(1) if comment else '?'} does not match "
                             f".github/action-pins.txt ({known[0]} {known[1]})")
                if action == "aquasecurity/trivy-action":
                    options = step.get("with", {})
                    if options.get("format") == "sarif" and str(options.get("limit-severities-for-sarif")).lower() != "true":
                        fail(f"{path.name}/{job_name}: Trivy writes SARIF without limit-severities-for-sarif: the "
                             f"severity filter is ignored and any LOW finding fails the gate")
            script = step.get("run", "")
            for expression in re.findall(r"\$\{\{([^}]*)\}\}", script):
                if re.search(r"\b(inputs|github\.event|secrets)\b", expression):
                    fail(f"{path.name}/{job_name}/{step.get('name', 'run')}: `${{{{{expression.strip()}}}}}` is expanded into "
                         f"the shell script; pass it through env:")

# rollback: the revision is validated as a whole number before it is used
_, rollback = load("rollback.yml")
steps = rollback["jobs"]["rollback"]["steps"]
validation = [s for s in steps if "${{ inputs.revision }}" in str(s.get("env", {}).values())]
if not validation or not re.search(r'\[\[\s*"\$REVISION"\s*=~\s*\^\[0-9\]', validation[0].get("run", "")):
    fail("rollback.yml: the revision input is not validated as a whole number before use")

# release: after CI, the tested commit, the same native digest, signature, smoke test, rollback
_, release = load("release.yml")
on = triggers(release)
run = on.get("workflow_run") if isinstance(on, dict) else None
if set(on) != {"workflow_run"} or not run or run.get("workflows") != ["ci"] or run.get("types") != ["completed"] \
        or run.get("branches") != ["main"]:
    fail(f"release.yml: must run only on the completion of the ci workflow on main, not on {sorted(on)}")
jobs = release.get("jobs", {})
first = jobs.get("images", {})
condition = str(first.get("if", ""))
if "github.event.workflow_run.conclusion == 'success'" not in condition or "github.event.workflow_run.event == 'push'" not in condition:
    fail("release.yml: the images job does not require a successful ci run of a push")
for name, job in jobs.items():
    for step in job.get("steps", []):
        if str(step.get("uses", "")).startswith("actions/checkout@") and \
                step.get("with", {}).get("ref") != "${{ github.event.workflow_run.head_sha }}":
            fail(f"release.yml/{name}: checks out something else than the commit CI tested")
digests = {}
for name in ("staging", "production"):
    job = jobs.get(name)
    if not job:
        fail(f"release.yml: no {name} job")
        continue
    digests[name] = job.get("env", {}).get("DIGEST")
    steps = job.get("steps", [])
    scripts = [s.get("run", "") for s in steps]
    deploy = [s for s in steps if "helm upgrade" in s.get("run", "")]
    if not deploy or '${IMAGE}@${DIGEST}' not in deploy[0]["run"] or "values-native.yaml" not in deploy[0]["run"]:
        fail(f"release.yml/{name}: does not deploy the native image by digest")
    order = [i for i, s in enumerate(scripts) if "deploy/verify-image.sh" in s]
    if not order or not deploy or order[0] > steps.index(deploy[0]):
        fail(f"release.yml/{name}: the signature is not verified before deploying")
    smoke = [i for i, s in enumerate(scripts) if "deploy/smoke-test.sh" in s]
    rollback_steps = [s for s in steps if "helm rollback" in s.get("run", "")]
    if not smoke or not deploy or smoke[0] < steps.index(deploy[0]):
        fail(f"release.yml/{name}: no smoke test after the deployment")
    if not rollback_steps or "failure()" not in str(rollback_steps[0].get("if", "")) \
            or steps.index(rollback_steps[0]) < (smoke[0] if smoke else 0):
        fail(f"release.yml/{name}: no automatic rollback when the smoke test fails")
if len(set(digests.values())) != 1 or "digest-native" not in str(next(iter(digests.values()), "")):
    fail(f"release.yml: staging and production do not deploy the same native digest: {digests}")
if "production" in jobs and "staging" not in jobs["production"].get("needs", []):
    fail("release.yml: production does not wait for staging")

# cosign: the identity pins this repository's release workflow on main or a release tag
verifier = root / "deploy" / "verify-image.sh"
if verifier.exists():
    identity = subprocess.run(["bash", str(verifier), "--print-identity"],
                              env={"GITHUB_REPOSITORY": "acme/strata.io", "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True).stdout.strip()
else:
    inline = re.search(r'--certificate-identity-regexp\s+"([^"]*)"', (workflows / "release.yml").read_text())
    identity = inline.group(1).replace("${{ github.repository }}", "acme/strata.io") if inline else "$^"
accepted = ["https://github.com/acme/strata.io/.github/workflows/release.yml@refs/heads/main",
            "https://github.com/acme/strata.io/.github/workflows/release.yml@refs/tags/v1.4.0"]
refused = ["https://github.com/acme/strata.io/.github/workflows/ci.yml@refs/heads/main",
           "https://github.com/acme/strata.io/.github/workflows/release.yml@refs/heads/feature",
           "https://github.com/acme/strata.io/.github/workflows/release.yml@refs/pull/7/merge",
           "https://github.com/acme/strataXio/.github/workflows/release.yml@refs/heads/main",
           "https://github.com/acme/strata.io-fork/.github/workflows/release.yml@refs/heads/main",
           "https://github.com/evil/strata.io/.github/workflows/release.yml@refs/heads/main",
           "https://github.com/acme/strata.io/.github/workflows/release.yml@refs/heads/main.evil"]
try:
    pattern = re.compile(identity)
    for name in accepted:
        if not pattern.search(name):
            fail(f"cosign identity {identity!r} refuses the release workflow: {name}")
    for name in refused:
        if pattern.search(name):
            fail(f"cosign identity {identity!r} accepts a signature it must refuse: {name}")
except re.error as e:
    fail(f"cosign identity is not a regular expression: {identity!r} ({e})")
verify = verifier.read_text() if verifier.exists() else ""
if "--certificate-oidc-issuer \"$issuer\"" not in verify or "issuer=https://token.actions.githubusercontent.com" not in verify:
    fail("deploy/verify-image.sh: the OIDC issuer is not pinned to GitHub Actions")

# native CI job: start time and RSS in the summary
_, ci = load("ci.yml")
native = "\n".join(s.get("run", "") for s in ci["jobs"].get("native", {}).get("steps", []))
if not re.search(r"start.*GITHUB_STEP_SUMMARY", native) or not re.search(r"RSS.*GITHUB_STEP_SUMMARY", native):
    fail("ci.yml/native: start time and RSS are not reported in the job summary")

if problems:
    print("workflow policy violations:")
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
print(f"workflows: actions pinned where write or id-token permissions are held ({len(pins)} pins), "
      "no input or secret expanded in a shell, release after CI with signature, smoke test and rollback")
