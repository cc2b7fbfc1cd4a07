"""The ready-to-copy recipes in docs/ work as written: the CI workflow and the nightly run."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, SAMPLE, read_sheet
from workbook.cli import build_parser

DOCS = REPO / "docs"
BIN = Path(sys.executable).parent
needs_bash = pytest.mark.skipif(shutil.which("bash") is None or os.name == "nt", reason="bash")


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def git(folder: Path, *argv: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *argv],
        cwd=folder,
        check=True,
        capture_output=True,
    )


@needs_bash
@pytest.mark.skipif(shutil.which("git") is None, reason="git")
def test_the_ci_workflow_checks_tests_and_diffs_a_policy_change(tmp_path: Path) -> None:
    workflow = yaml.safe_load((DOCS / "policy-ci.yml").read_text(encoding="utf-8"))
    assert "policy.yaml" in workflow[True]["pull_request"]["paths"]  # `on:` reads as True
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = {s.get("name"): s for s in workflow["jobs"]["policy"]["steps"]}
    script = steps["Check, test and diff the policy"]["run"]
    assert "gh pr comment" in steps["Post the report on the pull request"]["run"]

    repo = tmp_path / "coc-policy"
    repo.mkdir()
    shutil.copyfile(REPO / "policy.yaml", repo / "policy.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "policy.yaml")
    git(repo, "commit", "-q", "-m", "adopted")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    text = (repo / "policy.yaml").read_text(encoding="utf-8")
    version = yaml.safe_load(text)["policy"]["version"]
    text = text.replace("target: 20", "target: 25").replace(f'"{version}"', '"9.0.0"')
    (repo / "policy.yaml").write_text(text, encoding="utf-8")
    output, summary = tmp_path / "output", tmp_path / "summary"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=repo,
        env=environment(
            BASE_REF="main", GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary)
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().split())
    assert outputs == {"check": "0", "test": "1"}  # the worked example now gives 5, not 4
    report = (repo / "report-short.md").read_text(encoding="utf-8")
    assert report.startswith("## hmis-licensing: this policy change\n\n**policy check** passed")
    assert "Version 9.0.0 is not adopted yet" in report
    assert "**policy test** **failed** (exit 1): " in report
    assert "Allotments, Region 1, Allotment: expected 4, found 5." in report
    assert "- Region 1: 4 → 5 (formula value 4.10 → 5.13;" in report
    assert "| `ce_allotment.target` | 20 | 25 |" in report
    assert summary.read_text(encoding="utf-8") == (repo / "report.md").read_text(encoding="utf-8")


@needs_bash
def test_the_nightly_recipe_recalculates_the_shared_workbook(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    workbook = share / "hmis-licensing.xlsx"
    shutil.copyfile(SAMPLE, workbook)
    runs_before = len(read_sheet(workbook, "Run Log")) if "Run Log" in _sheets(workbook) else 0
    result = subprocess.run(
        ["bash", str(DOCS / "nightly-recalc.sh")],
        env=environment(WORKBOOK=str(workbook), TRIES="1", WAIT="0"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    logs = list((share / "hmis-licensing-logs").glob("recalc-*.log"))
    assert len(logs) == 1
    log = logs[0].read_text(encoding="utf-8")
    assert log.rstrip().endswith("OK"), log
    assert "Wrote:" in log
    backups = list((share / "hmis-licensing-logs" / "backups").glob("hmis-licensing-*.xlsx"))
    assert len(backups) == 1 and backups[0].read_bytes() == SAMPLE.read_bytes()
    assert len(read_sheet(workbook, "Run Log")) == max(runs_before, 1) + 1


@needs_bash
def test_the_nightly_recipe_retries_and_reports_a_workbook_it_cannot_write(tmp_path: Path) -> None:
    workbook = tmp_path / "hmis-licensing.xlsx"
    shutil.copyfile(SAMPLE, workbook)
    (tmp_path / "~$hmis-licensing.xlsx").write_bytes(b"open in Excel")  # Excel's owner file
    result = subprocess.run(
        ["bash", str(DOCS / "nightly-recalc.sh")],
        env=environment(WORKBOOK=str(workbook), TRIES="2", WAIT="0"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    log = next((tmp_path / "hmis-licensing-logs").glob("recalc-*.log")).read_text()
    assert log.count("could not write the workbook (open in Excel?)") == 2
    assert log.rstrip().endswith("FAILED (exit 2)")
    assert workbook.read_bytes() == SAMPLE.read_bytes()


@needs_bash
def test_the_nightly_recipe_does_not_retry_a_bad_policy(tmp_path: Path) -> None:
    """A bad policy.yaml beside the workbook: exit 2, but the Problems sheet was written
    (it says why); trying again would only add Run Log rows."""
    workbook = tmp_path / "hmis-licensing.xlsx"
    shutil.copyfile(SAMPLE, workbook)
    adopted = (Path(__file__).parent.parent / "policy.yaml").read_text(encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(adopted.replace("minimum: 2", "minimum: -1"))
    result = subprocess.run(
        ["bash", str(DOCS / "nightly-recalc.sh")],
        env=environment(WORKBOOK=str(workbook), TRIES="3", WAIT="0"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    log = next((tmp_path / "hmis-licensing-logs").glob("recalc-*.log")).read_text()
    assert "could not write the workbook" not in log
    assert log.count("Wrote:") == 1
    assert log.rstrip().endswith("the policy cannot be used; see the workbook's Problems sheet")


def _sheets(path: Path) -> list[str]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


_COMMAND = re.compile(r"""^\s*(?:"?[$%]\{?HMIS_LICENSING\}?%?"?|hmis-licensing)\s+(.*)$""")
_SHELL_END = re.compile(r"\s(?:\d?>>?|\||;|&&|2>&1)")


def code_lines(markdown: str) -> list[str]:
    """The lines inside the fenced code blocks of a Markdown text, continuations joined."""
    inside, lines = False, []
    for line in markdown.replace("\\\n", " ").splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line)
    return lines


def documented_commands() -> list[tuple[str, str]]:
    """Every `hmis-licensing ...` line in the recipes and the README's code blocks."""
    sources = [DOCS / "policy-ci.yml", DOCS / "nightly-recalc.sh", DOCS / "nightly-recalc.cmd"]
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        found += [(path.name, line) for line in text.splitlines()]
    readme = (REPO / "README.md").read_text("utf-8")
    found += [("README.md", line) for line in code_lines(readme)]
    spans = re.findall(r"`(hmis-licensing [^`]+)`", readme.replace("\n", " "))
    found += [  # a command named in prose (`hmis-licensing recalc`) is not a command line
        ("README.md", span) for span in spans if not set(span) & set("[]|<>") and " " in span[15:]
    ]
    commands = []
    for where, line in found:
        match = _COMMAND.match(line.split(" && ")[-1] if " && " in line else line)
        if match and not line.lstrip().startswith(("#", "rem ")):
            commands.append((where, _SHELL_END.split(" " + match[1], maxsplit=1)[0].strip()))
    return commands


def test_every_documented_command_is_one_the_command_line_accepts() -> None:
    commands = documented_commands()
    names = {c.split()[0] for _, c in commands if c}
    assert {"policy", "diff", "recalc", "sample"} <= names
    parser = build_parser()
    for where, command in commands:
        argv = [re.sub(r"[$%]\{?(\w+)\}?%?", r"\1", a) for a in shlex.split(command)]
        try:
            parser.parse_args(argv)
        except SystemExit:  # pragma: no cover - the message says which
            pytest.fail(f"{where}: `hmis-licensing {command}` is not accepted")


def test_the_readme_scenarios_pass(tmp_path: Path) -> None:
    from policy import adopted_policy_path, load_policy
    from workbook.scenarios import run_files

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("- name:")]
    assert blocks
    for number, block in enumerate(blocks):
        path = tmp_path / f"readme-{number}.yaml"
        path.write_text(block, encoding="utf-8")
        run = run_files([path], load_policy(adopted_policy_path()))
        assert run.count("passed") == len(run.all) > 0, [
            f.message for r in run.all for f in r.failures
        ]
