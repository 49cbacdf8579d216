"""The repository's own preparation of its test environment: ``test_generation.setup`` in
``.github/tandem.yml`` (from the base branch, as all of the config), run in the sandbox after
the dependency install and before the existing tests.

Each command is one ``sh -c`` in the checkout's root with the project's environment first on
``PATH``, so ``python`` and ``pip`` there are the environment's: what a command installs goes
into that environment, never into the tools' (with the local sandbox, the worker's own venv).
That environment is made if the install made none, and gets a pip of its own (``ensurepip``,
offline) since it otherwise sees only the tools' view, which holds no pip. Commands run on the
install network, like pip (with Docker: in a short-lived container on it; the part's container
stays without a network). The first command that fails stops the rest: later ones usually
build on it. A failure is a problem the check run shows with the command and its decisive
line; the tests still run, with what was prepared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jobs.dependencies.install import project_environment
from jobs.sandbox import Sandbox, decisive_line, tail

MAX_SETUP_S = 600.0
OUTPUT_TAIL = 4000


@dataclass
class SetupOutcome:
    ran: int  # commands that finished with exit 0
    note: str  # what happened, for the check run's notes
    problem: str | None = None  # why the environment may not be what the project expects
    output: str = ""  # the tail of the failed command's output
    duration_s: float = 0.0


def shown(command: str, limit: int = 80) -> str:
    """A command as the check run shows it: in backticks, shortened."""
    text = command if len(command) <= limit else command[: limit - 1] + "…"
    return "`" + text.replace("`", "'") + "`"


async def run_setup(
    sandbox: Sandbox,
    checkout: Path,
    commands: Sequence[str],
    *,
    timeout_s: float,
    network: str = "bridge",
) -> SetupOutcome:
    """Run ``commands`` in order (see the module's docstring). Never raises for a command that
    fails or times out: the outcome says so."""
    started = time.monotonic()
    deadline = started + min(timeout_s, MAX_SETUP_S)

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    def failed(problem: str, ran: int, output: str = "") -> SetupOutcome:
        return SetupOutcome(
            ran,
            f"Setup: {problem}.",
            problem=f"setup: {problem}",
            output=tail(output, OUTPUT_TAIL),
            duration_s=time.monotonic() - started,
        )

    if why := await project_environment(sandbox, checkout, timeout_s=min(120.0, left())):
        return failed(f"not run: {why}", 0)
    python = sandbox.python
    has_pip = await sandbox.run([python, "-I", "-c", "import pip"], cwd=checkout, timeout_s=60)
    if has_pip.returncode != 0:
        pip = await sandbox.run(
            [python, "-I", "-m", "ensurepip", "--default-pip"],
            cwd=checkout,
            timeout_s=min(120.0, left()),
        )
        if pip.returncode != 0:
            return failed(f"not run: no pip in the environment ({decisive_line(pip.output)})", 0)
    ran = 0
    async with sandbox.networked(network) as box:
        box.use_python(python)  # a container of its own starts with the tools' PATH
        for number, command in enumerate(commands, 1):
            where = f"command {number} of {len(commands)} ({shown(command)})"
            result = await box.run(["sh", "-c", command], cwd=checkout, timeout_s=left())
            if result.timed_out:
                return failed(f"{where} timed out after {result.duration_s:.0f} s", ran)
            if result.returncode != 0:
                return failed(
                    f"{where} failed (exit {result.returncode}): {decisive_line(result.output)}",
                    ran,
                    result.output,
                )
            ran += 1
    duration = time.monotonic() - started
    return SetupOutcome(
        ran,
        f"Setup: ran {ran} command(s) from test_generation.setup ({duration:.0f} s).",
        duration_s=duration,
    )
