#!/usr/bin/env python3
"""Shellchecks every `run:` script of GitHub workflows, as GitHub runs them (bash -e).

`${{ ... }}` expressions are replaced by a plain word first, as actionlint does, since the
runner substitutes them before the shell sees the script.
Usage: workflow_scripts.py SHELLCHECK WORKFLOW...
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def main(argv: list[str]) -> int:
    shellcheck, workflows = argv[1], argv[2:]
    status = 0
    with tempfile.TemporaryDirectory() as scratch:
        for workflow_path in workflows:
            workflow = yaml.safe_load(Path(workflow_path).read_text(encoding="utf-8"))
            for job_id, job in (workflow.get("jobs") or {}).items():
                for index, step in enumerate(job.get("steps") or []):
                    if "run" not in step:
                        continue
                    shell = step.get("shell") or job.get("defaults", {}).get("run", {}).get("shell") or "bash"
                    if shell not in ("bash", "sh"):
                        continue
                    label = f"{workflow_path} jobs.{job_id}.steps[{index}] ({step.get('name', 'unnamed')})"
                    script = Path(scratch) / f"step-{job_id}-{index}.sh"
                    script.write_text(f"#!/bin/{shell}\nset -e\n" + EXPRESSION.sub("GITHUB_EXPRESSION", step["run"]))
                    result = subprocess.run([shellcheck, "--shell", shell, str(script)], capture_output=True, text=True)
                    if result.returncode != 0:
                        status = 1
                        print(f"FAIL {label}:\n{result.stdout}{result.stderr}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
