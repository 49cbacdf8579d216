"""What the agent is told: the first prompt (the uncovered changed lines and their code, the
repository's test conventions, the config's instructions), the fix prompt (why each
discarded file failed), the coverage prompt (the changed lines still not run), the proof
prompt (the mutants of the changed lines no test notices), and where new test files go."""

from __future__ import annotations

from pathlib import Path

from core.repo_config import TestGeneration
from jobs.languages.conventions import Conventions, Prompting
from jobs.testgen.proof.score import Outcome
from jobs.testgen.targets import MAX_EXCERPT_LINES, Target, compress, excerpt
from jobs.testgen.validation import Validation

# How much of a failing run's output the fix prompt quotes.
FAILURE_OUTPUT_CHARS = 3000


def _at(text: str, out: str) -> str:
    return text.replace("{out}", out)


def output_dir_for(tg: TestGeneration, conventions: Conventions) -> str:
    """The config's output_dir; when it is the default and the repo keeps tests elsewhere,
    the repo's own test directory."""
    if tg.output_dir == "tests" and conventions.test_dirs:
        top = conventions.test_dirs[0]
        if top not in (".", "tests"):
            return top
    return tg.output_dir.strip("/") or "tests"


def build_prompt(
    targets: list[Target],
    checkout: Path,
    conventions: Conventions,
    tg: TestGeneration | None = None,
    kept: list[str] | None = None,
) -> str:
    """The first conversation's prompt. ``kept``: test files the offline engines wrote and
    Tandem kept already; the lines listed are the ones they left uncovered. The runner, where
    new files go and how one runs come from the run's language's conventions
    (:meth:`Conventions.prompting`)."""
    tg = tg or TestGeneration()
    out = output_dir_for(tg, conventions)
    terms = conventions.prompting()
    rules = "".join(f"- {_at(rule, out)}\n" for rule in terms.rules)
    described = []
    for target in targets:
        functions = ", ".join(target.uncovered_functions or target.functions)
        lines = target.uncovered or target.lines
        described.append(
            f"### `{target.path}`\nChanged lines no existing test covers: {compress(lines)}"
            f"\nIn: {functions or 'module-level code'}\n```\n{excerpt(checkout, target)}\n```"
        )
    instructions = (
        f"\n\nInstructions from the repository's maintainers:\n{tg.instructions.strip()}"
        if tg.instructions.strip()
        else ""
    )
    already = (
        "\n\nThese test files were generated and kept already (they pass and are part of the "
        "result; do not modify them, read them for how to call the code): "
        + ", ".join(f"`{path}`" for path in kept)
        + ". The lines below are what they and the existing tests leave uncovered."
        if kept
        else ""
    )
    return (
        f"You are writing {terms.runner} tests for a pull request in the repository at "
        f"{checkout}.\n\nThe pull request changed code that the existing tests do not run. "
        "Cover these lines:\n\n"
        + "\n\n".join(described)
        + already
        + "\n\nThe repository's test conventions:\n"
        + conventions.describe()
        + "\n\nRules:\n"
        f"- {_at(terms.new_files, out)}\n"
        + rules
        + "- Do not modify existing files; only create new test files.\n"
        "- Tests must be deterministic: no network, no sleeps, no dependence on time, order or "
        "files left behind by an earlier run. Each file will be run "
        f"{tg.flaky_runs} times in a row and discarded if any run fails.\n"
        "- A test file is kept only if it runs changed lines listed above. Aim for at least "
        f"{tg.coverage.target}% of the changed statements covered.\n"
        f"- Run them with `{terms.run}` and fix them until they pass.\n"
        "- When done, call finish with a one-line description of what you tested." + instructions
    )


def fix_prompt(
    checkout: Path,
    failed: list[Validation],
    targets: list[Target],
    tg: TestGeneration,
    terms: Prompting | None = None,
) -> str:
    terms = terms or Prompting()
    problems = []
    for v in failed:
        problems.append(f"### `{v.path}`\n{v.reason}\n```\n{v.output[-FAILURE_OUTPUT_CHARS:]}\n```")
    goals = "\n".join(
        f"- `{t.path}`: lines {compress(t.uncovered)} ({', '.join(t.uncovered_functions)})"
        for t in targets
    )
    return (
        f"You wrote {terms.runner} tests for a pull request in the repository at "
        f"{checkout}.\n\nTandem ran each test file {tg.flaky_runs} times in its sandbox. "
        "These files were discarded:\n\n"
        + "\n\n".join(problems)
        + "\n\nFix each file in place (same path) so that it passes every run: if a test "
        "expects the wrong value, read the code under test and correct the expectation; if it "
        "depends on state left by an earlier run (files, globals, time), make it independent. "
        "Delete a test you cannot make reliable. Do not modify any other file.\n"
        f"The lines the tests should run:\n{goals}\n"
        f"Run `{terms.run}` several times to check, then call finish."
    )


def coverage_prompt(
    checkout: Path,
    remaining: list[Target],
    passing: list[str],
    tg: TestGeneration,
    terms: Prompting | None = None,
) -> str:
    """A follow-up round: every file passed, and these changed lines are still not run."""
    terms = terms or Prompting()
    described = [
        f"### `{t.path}`\nStill not run: {compress(t.uncovered)}"
        f"\nIn: {', '.join(t.uncovered_functions) or 'module-level code'}"
        f"\n```\n{excerpt(checkout, t)}\n```"
        for t in remaining
    ]
    written = ", ".join(f"`{p}`" for p in passing) or "none yet"
    return (
        f"You wrote {terms.runner} tests for a pull request in the repository at "
        f"{checkout}.\n\nTandem ran them {tg.flaky_runs} times under coverage. Test files that "
        f"pass: {written}. These changed lines are still not run by any test:\n\n"
        + "\n\n".join(described)
        + "\n\nWrite tests that run exactly these lines: read the code to find the inputs that "
        "reach them. Add them to a new test file or extend the files you wrote; do not modify "
        "any other file. A line that no input can reach may be left alone. Tests must be "
        f"deterministic. Run `{terms.run}` to check, then call finish."
    )


def proof_prompt(
    checkout: Path,
    survivors: list[Outcome],
    passing: list[str],
    tg: TestGeneration,
    out: str,
    terms: Prompting | None = None,
) -> str:
    """A proof round: every changed line the agent could reach runs, but these mutants of the
    changed lines (the most telling first) survive every test; each is shown with the code of
    its function and the line as the mutant changes it."""
    by_function: dict[tuple[str, str], list[Outcome]] = {}
    for o in survivors:
        by_function.setdefault((o.mutant.path, o.mutant.function), []).append(o)
    described = []
    for (path, function), found in by_function.items():
        mutant = found[0].mutant
        source = (checkout / path).read_text(encoding="utf-8", errors="replace").splitlines()
        shown = range(mutant.start, min(mutant.end, mutant.start + MAX_EXCERPT_LINES - 1) + 1)
        code = "\n".join(f"{n:>5}  {source[n - 1]}" for n in shown if 0 < n <= len(source))
        bugs = "\n".join(
            f"- line {o.mutant.line}: no test notices if {o.mutant.description}"
            + (" (no test runs this line)" if o.status == "uncovered" else "")
            for o in found
        )
        described.append(f"### `{path}`, `{function}`\n```\n{code}\n```\n{bugs}")
    written = ", ".join(f"`{p}`" for p in passing) or "none yet"
    terms = terms or Prompting()
    return (
        f"You are writing {terms.runner} tests for a pull request in the repository at "
        f"{checkout}.\n\nTandem put small bugs (mutants) into the changed lines, one at a "
        f"time, and ran the tests against each. Generated test files that pass: {written}. No "
        "existing or generated test "
        "fails on these mutants, so no test would notice such a bug in the change:\n\n"
        + "\n\n".join(described)
        + "\n\nWrite tests that pass on the code as it is and fail on these mutants: choose "
        "inputs on which the original and the mutated line give different results (a "
        "comparison's boundary value, for instance), and assert the exact result. Put them in "
        f"{_at(terms.proof_file, out)}; do not modify "
        "any other file (read the test files for how to call the code). A test "
        "that fails on none of these mutants is not kept. A mutant that behaves exactly like "
        "the original may be left alone. Tests must be deterministic. Run "
        f"`{terms.run}` to check, then call finish."
    )
