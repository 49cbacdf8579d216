"""The repository's test conventions as a prompt reads them: :class:`Conventions`, which each
language's backend fills from the repository's files (``Language.conventions``: Python's in
:mod:`jobs.languages.python.python_conventions`, JavaScript's in
:mod:`jobs.languages.javascript.javascript_conventions`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prompting:
    """How the agent's prompts (:mod:`jobs.testgen.prompts`) speak of the run's tests: the
    runner, where a new file goes, how to run one file. A language's conventions give it
    (:meth:`Conventions.prompting`); these defaults are pytest's."""

    runner: str = "pytest"  # "You are writing {runner} tests"
    # One rule line of the first prompt (``{out}``: the output folder)
    new_files: str = (
        "Put new test files under `{out}/`, named `test_<module>_tandem.py` "
        "(create the directory first with `mkdir -p {out}` if it does not exist)."
    )
    # Where a proof round's file goes (``{out}``: the output folder)
    proof_file: str = "a new test file under `{out}/`, named `test_<module>_proof_tandem.py`"
    run: str = "python -m pytest -q <file>"  # the command that runs one test file
    rules: tuple[str, ...] = ()  # further rule lines of the first prompt (the runner's)


@dataclass
class Conventions:
    framework: str  # "pytest" or "unittest"
    test_dirs: list[str]  # most used first
    naming: str  # "test_<name>.py" or "<name>_test.py"
    fixtures: dict[str, list[str]] = field(default_factory=dict)  # conftest path -> names
    config: str | None = None  # where pytest is configured
    test_files: int = 0
    example: str | None = None  # one existing test file, for style

    def prompting(self) -> Prompting:
        """How the agent's prompts speak of these tests: pytest's."""
        return Prompting()

    def describe(self) -> str:
        lines = []
        if self.test_files:
            lines.append(
                f"- {self.test_files} existing test file(s), framework {self.framework}, "
                f"named `{self.naming}`, in " + ", ".join(f"`{d}/`" for d in self.test_dirs[:3])
            )
        else:
            lines.append("- The repository has no tests yet; use plain pytest functions.")
        if self.config:
            lines.append(f"- pytest is configured in `{self.config}`.")
        for conftest, names in list(self.fixtures.items())[:5]:
            shown = ", ".join(f"`{n}`" for n in names[:12])
            lines.append(f"- Fixtures in `{conftest}`: {shown}; reuse them instead of new ones.")
        if self.example:
            lines.append(f"- Follow the style of `{self.example}`.")
        return "\n".join(lines)
