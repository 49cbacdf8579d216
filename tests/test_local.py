"""`tandem run`: local mode on real git repositories, the real sandbox and the real agent loop
(scripted LLM at the network edge) or Pynguin offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.settings import Settings
from tandem import local_run as local
from tandem.demo import make_demo_repo
from tests.harness_docker import container_names
from tests.llmserver import ScriptedLLM, Step, finish, tool_call
from tests.waiting import EVENT_LIMIT_S

ROOT = Path(__file__).resolve().parent.parent

GOOD_TEST = """from shapes.geometry import kind, perimeter


def test_perimeter_and_kind():
    assert perimeter(2, 3) == 10
    assert kind(2, 2) == "square"
    assert kind(3, 2) == "wide"
    assert kind(2, 3) == "tall"
"""


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return make_demo_repo(tmp_path / "demo")


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", sandbox="local", **extra)  # type: ignore[call-arg]


def agent_alone(tmp_path: Path) -> Path:
    """A config for the agent alone (engine auto would run characterization first)."""
    path = tmp_path / "agent-alone.yml"
    path.write_text("test_generation:\n  engine: openhands\n")
    return path


def agent_settings(tmp_path: Path, llm: ScriptedLLM) -> Settings:
    """The real agent loop against the scripted LLM, in the local sandbox."""
    return settings_for(
        tmp_path,
        llm_model="openai/scripted",
        llm_base_url=llm.url,
        llm_api_key=SecretStr("sk-test"),
    )


# --- refusing bad input before anything runs -----------------------------------------------


def test_prepare_measures_against_the_merge_base(demo: Path) -> None:
    git(demo, "checkout", "--quiet", "main")
    (demo / "other.py").write_text("x = 1\n")
    git(demo, "add", "other.py")
    git(demo, "commit", "--quiet", "-m", "main moves on")
    main_tip = git(demo, "rev-parse", "main")
    run = local.prepare(demo, "main", "feature")
    assert run.base_sha != main_tip  # the fork point, as a pull request would diff
    assert run.base_sha == git(demo, "merge-base", "main", "feature")
    assert run.head_sha == git(demo, "rev-parse", "feature")
    assert "defaults" in run.config_note


@pytest.mark.parametrize(
    ("base", "head", "message"),
    [
        ("nope", None, "--base 'nope': no such commit"),
        ("main", "nope", "--head 'nope': no such commit"),
        ("--upload-pack=touch /tmp/pwned", None, "is not a git ref"),
        ("main", "-h", "is not a git ref"),
        ("feature", "feature", "has no changes of its own"),
        ("feature", "main", "has no changes of its own"),
    ],
)
def test_prepare_refuses_bad_refs(demo: Path, base: str, head: str | None, message: str) -> None:
    with pytest.raises(local.LocalRunError, match=re.escape(message)):
        local.prepare(demo, base, head or "feature")


def test_prepare_refuses_what_is_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(local.LocalRunError, match="is not a directory"):
        local.prepare(tmp_path / "missing", "main", None)
    (tmp_path / "plain").mkdir()
    with pytest.raises(local.LocalRunError, match="is not a git repository"):
        local.prepare(tmp_path / "plain", "main", None)


def test_config_is_read_at_the_base_commit_with_located_errors(demo: Path) -> None:
    git(demo, "checkout", "--quiet", "main")
    (demo / ".github").mkdir()
    (demo / ".github/tandem.yml").write_text("test_generation:\n  flaky_run: 3\n")
    git(demo, "add", ".github")
    git(demo, "commit", "--quiet", "-m", "config")
    git(demo, "checkout", "--quiet", "feature")
    git(demo, "rebase", "--quiet", "main")
    with pytest.raises(local.LocalRunError) as caught:
        local.prepare(demo, "main", None)
    assert ".github/tandem.yml at the base commit:2:3:" in str(caught.value)
    assert "flaky_runs" in str(caught.value)  # did you mean


def test_config_file_override_and_extends_note(demo: Path, tmp_path: Path) -> None:
    override = tmp_path / "tandem.yml"
    override.write_text("_extends: .github\nrefactoring_review:\n  enabled: false\n")
    run = local.prepare(demo, "main", None, override)
    assert run.config.refactoring_review.enabled is False
    assert "_extends: .github" in run.config_note and "not followed" in run.config_note
    with pytest.raises(local.LocalRunError, match="cannot read"):
        local.prepare(demo, "main", None, tmp_path / "absent.yml")


# --- writing tests into the working tree ---------------------------------------------------


def test_write_tests_never_overwrites_or_leaves_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests/test_old.py").write_text("original\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "linked").symlink_to(outside)
    (repo / "tests/test_link.py").symlink_to(outside / "target.py")
    written, refused = local.write_tests(
        repo,
        {
            "tests/test_new.py": "new\n",
            "tests/deep/test_deeper.py": "deeper\n",
            "tests/test_old.py": "clobber\n",
            "linked/test_escape.py": "escape\n",
            "tests/test_link.py": "through a dangling link\n",
            "../test_up.py": "up\n",
        },
    )
    assert written == ["tests/deep/test_deeper.py", "tests/test_new.py"]
    assert (repo / "tests/test_new.py").read_text() == "new\n"
    assert (repo / "tests/test_old.py").read_text() == "original\n"
    assert sorted(refused) == [
        "../test_up.py (outside the repository)",
        "linked/test_escape.py (outside the repository)",
        "tests/test_link.py (exists)",
        "tests/test_old.py (exists)",
    ]
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "test_up.py").exists()


# --- whole runs -----------------------------------------------------------------------------


def agent(body: dict[str, Any]) -> Step | None:
    first = next(m for m in body["messages"] if m.get("role") == "user")
    content = first["content"]
    text = content if isinstance(content, str) else " ".join(c.get("text", "") for c in content)
    match = re.search(r"repository at (/\S+?)\.\n", text)
    if match is None or any(m.get("role") == "assistant" for m in body["messages"]):
        return finish("done")
    return tool_call(
        "file_editor",
        command="create",
        path=f"{match.group(1)}/tests/test_geometry_tandem.py",
        file_text=GOOD_TEST,
    )


@pytest.mark.slow
async def test_agent_run_writes_kept_tests_into_the_working_tree(
    demo: Path, tmp_path: Path
) -> None:
    before = git(demo, "status", "--porcelain")
    async with ScriptedLLM(agent) as llm:
        settings = agent_settings(tmp_path, llm)
        run = local.prepare(demo, "main", None, agent_alone(tmp_path))
        stages: list[tuple[str, str]] = []
        report = await local.run_local(
            run, settings, progress=lambda part, what: stages.append((part, what))
        )
    assert report.conclusion == "success"
    tests, review = report.results
    assert tests.part == "generate_tests" and tests.headline == "1 test file(s) generated"
    assert "Engine: openhands" in tests.summary
    assert "`tests/test_geometry_tandem.py`: kept (passed 5/5 runs" in tests.summary
    assert "Written to the working tree: `tests/test_geometry_tandem.py`" in tests.summary
    assert (demo / "tests/test_geometry_tandem.py").read_text() == GOOD_TEST
    assert before == ""  # the run itself left the tree alone until delivery
    assert git(demo, "status", "--porcelain") == "?? tests/test_geometry_tandem.py"
    # The same render as the check run: parts table, then each part's section.
    assert report.output.summary.startswith("| Part | Result | Duration |")
    assert "### Refactoring review" in report.output.summary
    assert review.part == "review_refactoring"
    kinds = {a.title for a in report.output.annotations}
    assert any("Parameters 7 in label" in k for k in kinds), kinds
    assert any("Complexity" in k and "label" in k for k in kinds), kinds
    said = [what for part, what in stages if part == "generate_tests"]
    assert said[0] == "cloning the head commit"
    assert said.index("installing the repository's dependencies") < said.index(
        "measuring what the existing tests cover"
    )
    assert "the agent writing tests for 1 file(s)" in said
    assert any(w.startswith("validating tests/test_geometry_tandem.py") for w in said)
    assert ("review_refactoring", "reviewing the changed code") in stages


@pytest.mark.slow
async def test_failing_review_gate_and_patch_delivery(demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "tandem.yml"
    config.write_text(
        "test_generation:\n  engine: openhands\nrefactoring_review:\n  fail_on: [parameters]\n"
    )
    async with ScriptedLLM(agent) as llm:
        settings = agent_settings(tmp_path, llm)
        run = local.prepare(demo, "main", None, config)
        patch = tmp_path / "out.patch"
        report = await local.run_local(run, settings, patch_path=patch)
    assert report.conclusion == "failure"
    assert report.results[1].fails_check
    assert "**This fails the check:**" in report.output.summary
    assert report.written == [] and not (demo / "tests/test_geometry_tandem.py").exists()
    assert f"Written as a patch: `{patch}`" in report.output.summary
    git(demo, "apply", "--check", str(patch))
    git(demo, "apply", str(patch))
    assert (demo / "tests/test_geometry_tandem.py").read_text() == GOOD_TEST


async def test_no_llm_and_no_python_change_says_so(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "notes.md").write_text("a\n")
    git(repo, "add", "notes.md")
    git(repo, "commit", "--quiet", "-m", "a")
    (repo / "notes.md").write_text("a\nb\n")
    git(repo, "commit", "--quiet", "-am", "b")
    run = local.prepare(repo, "HEAD~1", None)
    report = await local.run_local(run, settings_for(tmp_path))
    tests = report.results[0]
    assert tests.status == "skipped" and tests.headline == "no changed Python code"
    assert report.conclusion == "success"


@pytest.mark.slow
def test_cli_demo_with_the_offline_engines(tmp_path: Path) -> None:
    """The README's first command, as a newcomer runs it: no LLM, no GitHub, no Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI", "LLM"))}
    env.update(TANDEM_DATA_DIR=str(tmp_path / "data"), LITELLM_LOCAL_MODEL_COST_MAP="True")
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "tandem.cli", "run", "--demo", "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=EVENT_LIMIT_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Sandbox: local" in done.stdout
    assert "Written to the working tree" in done.stdout
    report = json.loads(out.read_text())
    tests = report["parts"][0]
    assert tests["details"]["engine"] == "offline"
    coverage = tests["details"]["coverage"]
    assert coverage["covered_after"] > coverage["covered_before"]
    demo = tmp_path / "data" / "demo"
    for name in tests["details"]["kept"]:
        assert (demo / name).is_file()
    # The kept tests pass in the repository itself, outside Tandem.
    check = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests["details"]["kept"]],
        cwd=demo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout


def engine_processes(pid: int) -> list[Any]:
    """The descendants of `pid` that run an offline engine (they have sessions of their own)."""
    import psutil

    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            line = " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        if "pynguin" in line or "crosshair" in line or "characterize" in line:
            found.append(child)
    return found


@pytest.mark.slow
def test_sigterm_stops_tandem_run_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGTERM mid-engine: the engine's processes die with the run, its temp dirs go."""
    import time

    import psutil

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI", "LLM"))}
    env.update(
        TANDEM_DATA_DIR=str(tmp_path / "data"),
        TMPDIR=str(scratch),
        LITELLM_LOCAL_MODEL_COST_MAP="1",
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "run", "--demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        engines: list[Any] = []
        deadline = time.monotonic() + 240  # waiting for the engine to start, not a threshold
        while not engines and run.poll() is None and time.monotonic() < deadline:
            engines = engine_processes(run.pid)
            time.sleep(0.1)
        assert engines, "no engine process was seen"
        assert list(scratch.iterdir())  # the run's clone and the sandbox's home are there
        run.send_signal(subprocess.signal.SIGTERM)
        _out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + 15, err
    assert err.strip().splitlines()[-1] == "tandem run: stopped (SIGTERM); nothing was written"
    _gone, alive = psutil.wait_procs(engines, timeout=30)
    assert alive == []
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "data" / "demo" / "tandem-tests.patch").exists()


@pytest.mark.slow
def test_cli_refuses_bad_input_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "TANDEM_DATA_DIR": str(tmp_path / "data")}
    for args, expected in (
        (["run"], "--base is required"),
        (["run", "--repo", str(tmp_path), "--base", "main"], "is not a git repository"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tandem.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert expected in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
async def test_docker_sandbox_run_leaves_no_container(
    demo: Path, tmp_path: Path, sandbox_image: str, engine: Any
) -> None:
    """`tandem run --sandbox docker`: validation inside a container, removed afterwards."""
    async with ScriptedLLM(agent) as llm:
        settings = agent_settings(tmp_path, llm).model_copy(
            update={"sandbox": "docker", "sandbox_image": sandbox_image}
        )
        run = local.prepare(demo, "main", None, agent_alone(tmp_path))
        report = await local.run_local(run, settings)
    tests = report.results[0]
    assert tests.headline == "1 test file(s) generated", tests.summary
    assert "kept (passed 5/5 runs" in tests.summary
    assert (demo / "tests/test_geometry_tandem.py").read_text() == GOOD_TEST
    assert container_names(engine, "tandem.run=local:" + run.head_sha) == set()
