#!/usr/bin/env python3
"""Runs the `perf-fixer compare` step of gate-perf.yml the way a runner would, with a fake
`perf-fixer` that exits with each code of the command line contract, and checks the gate:

  exit 0 (no regression)  -> step passes
  exit 3 (regression)     -> step fails, with an error annotation
  exit 5 (inconclusive)   -> step passes, with a warning annotation
  exit 1 (error)          -> step fails

and in every case the report reaches the job summary and the exit code the step output.
Usage: gate_step_test.py WORKFLOW
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

FAKE_PERF_FIXER = """#!/bin/bash
# Stands in for perf-fixer: checks the arguments the gate passes, writes the reports.
set -euo pipefail
[ "$1" = compare ] || { echo "fake: expected compare, got $1" >&2; exit 99; }
shift
declare -A args=()
while [ $# -gt 0 ]; do args[$1]="$2"; shift 2; done
[ "${args[--repo]}" = . ] || exit 98
[ "${args[--base]}" = "$EXPECT_BASE" ] || { echo "fake: wrong base ${args[--base]}" >&2; exit 97; }
[ "${args[--head]}" = "$EXPECT_HEAD" ] || { echo "fake: wrong head ${args[--head]}" >&2; exit 96; }
echo "| bench | change |" > "${args[--markdown]}"
echo "| parse | fake-$FAKE_EXIT |" >> "${args[--markdown]}"
echo '{"schema_version": 1}' > "${args[--json]}"
exit "$FAKE_EXIT"
"""

EXPRESSIONS = {
    "github.event.pull_request.base.sha": "1111111111111111111111111111111111111111",
    "github.event.pull_request.head.sha": "2222222222222222222222222222222222222222",
}


def substitute(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if expression not in EXPRESSIONS:
            raise KeyError(f"the compare step uses ${{{{ {expression} }}}}, which this test cannot supply")
        return EXPRESSIONS[expression]

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def main(argv: list[str]) -> int:
    workflow = yaml.safe_load(Path(argv[1]).read_text(encoding="utf-8"))
    steps = [
        step
        for job in workflow["jobs"].values()
        if job.get("name") == "gate:perf"
        for step in job.get("steps", [])
        if "perf-fixer compare" in str(step.get("run", ""))
    ]
    if len(steps) != 1:
        print("FAIL no single `perf-fixer compare` step in a `gate:perf` job", file=sys.stderr)
        return 1
    step = steps[0]
    script = substitute(step["run"])
    step_env = {key: substitute(str(value)) for key, value in (step.get("env") or {}).items()}

    expectations = {0: (True, None), 3: (False, "::error"), 5: (True, "::warning"), 1: (False, "::error")}
    failures = 0
    for code, (should_pass, annotation) in expectations.items():
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            bin_dir = work / "bin"
            bin_dir.mkdir()
            fake = bin_dir / "perf-fixer"
            fake.write_text(FAKE_PERF_FIXER)
            fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
            (work / "step.sh").write_text(script)
            output, summary = work / "output", work / "summary"
            env = dict(
                os.environ,
                **step_env,
                PATH=f"{bin_dir}:{os.environ['PATH']}",
                GITHUB_OUTPUT=str(output),
                GITHUB_STEP_SUMMARY=str(summary),
                FAKE_EXIT=str(code),
                EXPECT_BASE=EXPRESSIONS["github.event.pull_request.base.sha"],
                EXPECT_HEAD=EXPRESSIONS["github.event.pull_request.head.sha"],
            )
            # GitHub runs `run:` scripts with `bash --noprofile --norc -eo pipefail {0}`.
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "step.sh"],
                cwd=work, env=env, capture_output=True, text=True, timeout=30,
            )
            problems = []
            if (result.returncode == 0) != should_pass:
                problems.append(f"step exited {result.returncode}, expected it to {'pass' if should_pass else 'fail'}")
            if annotation and annotation not in result.stdout:
                problems.append(f"no {annotation} annotation")
            if f"exit-code={code}" not in (output.read_text() if output.exists() else ""):
                problems.append("exit code missing from the step output")
            if f"fake-{code}" not in (summary.read_text() if summary.exists() else ""):
                problems.append("report missing from the job summary")
            status = "ok" if not problems else "FAILED: " + "; ".join(problems)
            print(f"  gate step, perf-fixer exit {code}: {status}")
            if problems:
                failures += 1
                print(result.stdout + result.stderr, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
