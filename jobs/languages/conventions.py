"""The repository's test conventions as a prompt reads them: :class:`Conventions`, which each
language's backend fills from the repository's files (``Language.conventions``: Python's in
:mod:`jobs.languages.python.python_conventions`, JavaScript's in
:mod:`jobs.languages.javascript.javascript_conventions`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Conventions:
    framework: str  # "pytest" or "unittest"
    test_dirs: list[str]  # most used first
    naming: str  # "test_<name>.py" or "<name>_test.py"
    fixtures: dict[str, list[str]] = field(default_factory=dict)  # conftest path -> names
    config: str | None = None  # where pytest is configured
    test_files: int = 0
    example: str | None = None  # one existing test file, for style

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
