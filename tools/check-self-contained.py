"""CI must run from a clean clone: no script it runs may reach for a file outside the repository.

Scans .ci/run, the shell scripts under bin/, deploy/, observability/ and tools/, and every `run:` block
of the GitHub workflows for paths that leave the checkout (`../...` resolved from the repository root,
where every one of these scripts runs, or absolute paths into a developer's machine). Exit 1 on any.
"""
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
# a relative path with at least one parent step, or an absolute path under a few well-known
# machine-specific roots (system paths such as /usr/lib/jvm or /tmp are the machine's, not a checkout's)
relative = re.compile(r"(?<![\w./$])((?:\.\./)+[\w.-][\w./-]*)")
absolute = re.compile(r"(?<![\w.-])(/(?:work|home|Users)/[\w./-]+)")


def scripts():
    yield root / ".ci" / "run"
    for folder in ("bin", "deploy", "observability", "tools"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and (path.suffix == ".sh" or (path.suffix == "" and path.read_bytes()[:2] == b"#!")):
                yield path


def workflow_runs():
    for path in sorted((root / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for job_name, job in (workflow.get("jobs") or {}).items():
            for step in job.get("steps") or []:
                if "run" in step:
                    yield f"{path.relative_to(root)} ({job_name}: {step.get('name', 'run')})", step["run"]


def escapes(text):
    found = []
    for line in text.splitlines():
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        for match in relative.finditer(code):
            target = (root / match.group(1)).resolve()
            if root not in target.parents and target != root:
                found.append(match.group(1))
        found.extend(m.group(1) for m in absolute.finditer(code))
    return found


problems = []
for path in scripts():
    # a script that changes into its own folder first resolves ../ from there
    text = path.read_text(errors="replace")
    base = path.parent if re.search(r'cd "\$\(dirname "\$0"\)"\s*(&&|$|\n)', text) else root
    for line in text.splitlines():
        code = "" if line.lstrip().startswith("#") else line
        for match in relative.finditer(code):
            target = (base / match.group(1)).resolve()
            if root not in target.parents and target != root:
                problems.append(f"{path.relative_to(root)}: {match.group(1)} is outside the repository")
        for match in absolute.finditer(code):
            problems.append(f"{path.relative_to(root)}: {match.group(1)} is a path on one machine")
for where, text in workflow_runs():
    for found in escapes(text):
        problems.append(f"{where}: {found} is outside the repository")

if problems:
    print("CI reaches outside the repository:")
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
print("self-contained: .ci/run, scripts and workflow steps use only files in the repository")
