"""The policy for what a requirements file may ask pip for (pure: file texts in, refusals out).

The PR's author writes these files, and the same author's ``setup.py`` runs during the install
anyway, so the parser is not what contains hostile code: the sandbox is. The policy keeps two
promises that the sandbox alone cannot: (1) packages come only from the package index the
operator configured (pip's config in the sandbox image) over verified TLS, so a file may not add
or replace an index (``--index-url``, ``--extra-index-url``), add ``--find-links``, turn off TLS
checks (``--trusted-host``), or name direct URL / VCS requirements (``pkg @ https://…``,
``git+https://…``, ``-e git+…``; in pyproject.toml's dependencies too, see
:func:`direct_reference`); (2) nothing outside the checkout is read, so includes (``-r``/``-c``)
and local paths (``./vendor/lib``, ``-e ./lib``) must stay inside it, symlinks resolved
(:func:`repo_path`, :meth:`RepoFiles.inside`). (2) matters most with the local sandbox, where
pip runs on the worker's machine and its error messages, echoing what it read, end up in the
check run. Options are allowed by a short list (:data:`ALLOWED_OPTIONS`); anything else,
environment variables (``${VAR}``) and include cycles are refused too.
:func:`check_requirements_file` says which line of which (included) file is refused and why.

The files are read through :class:`RepoFiles`, so the policy and the plan never touch the disk
themselves.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Protocol

MAX_INCLUDES = 20

# Options a requirements file may use. Paths (-r, -c, -e) are checked separately.
PATH_OPTIONS = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
}
VALUE_OPTIONS = {"--hash", "--only-binary", "--no-binary", "--config-settings"}
FLAG_OPTIONS = {"--pre", "--prefer-binary", "--require-hashes", "--no-index"}
ALLOWED_OPTIONS = {*PATH_OPTIONS.values(), *VALUE_OPTIONS, *FLAG_OPTIONS}
SOURCE_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
}
# Only these may follow a requirement on its line (pip's per-requirement options).
PER_REQUIREMENT_OPTIONS = {"--hash", "--config-settings"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.I)
_COMMENT = re.compile(r"(^|\s+)#.*$")
_EXTRAS = re.compile(r"\[[^\]]*\]$")


class UnreadableFile(Exception):
    """A file that exists but must not or cannot be read (outside the repository, too big)."""


class RepoFiles(Protocol):
    def read(self, path: str) -> str | None:
        """The text of the repository file at ``path`` (normalised, relative), None when there
        is none. Raises :class:`UnreadableFile` when it must not be read."""
        ...

    def inside(self, path: str) -> bool:
        """Whether ``path`` (existing or not) stays in the repository, symlinks resolved."""
        ...

    def listing(self, folder: str) -> list[str]:
        """The names of the files directly in the repository's ``folder``, sorted; none
        where there is no such folder in the repository."""
        ...


def read_noting(files: RepoFiles, path: str, refused: list[str]) -> str | None:
    """The text of ``path``, None when there is none; a file that must not be read is None
    too, with one line in ``refused`` saying why."""
    try:
        return files.read(path)
    except UnreadableFile as e:
        refused.append(f"`{path}`: {e}")
        return None


def direct_reference(requirement: str) -> str | None:
    """Why a requirement does not come from the index, or None."""
    spec = requirement.split(";", 1)[0].strip()
    if "${" in requirement:
        return "environment variables are not expanded"
    if _VCS.match(spec) or "://" in spec or "@" in spec:
        return "direct URL and VCS requirements are not installed (only the package index)"
    return None


def repo_path(base: str, ref: str) -> str | None:
    """``ref`` (relative to directory ``base`` of the repository) as a normalised
    repository-relative path, or None when it is absolute, a URL or leaves the repository."""
    if not ref or ref.startswith(("/", "~")) or "\\" in ref or "${" in ref or _SCHEME.match(ref):
        return None
    joined = posixpath.normpath(posixpath.join(base, ref))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each line pip reads: continuations joined, comments
    stripped, blank lines dropped."""
    lines: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            buffer.append(raw[:-1])
            continue
        buffer.append(raw)
        line = _COMMENT.sub("", " ".join(buffer)).strip()
        buffer = []
        if line:
            lines.append((start, line))
    if buffer:
        line = _COMMENT.sub("", " ".join(buffer)).strip()
        if line:
            lines.append((start, line))
    return lines


def _options(tokens: list[str]) -> list[tuple[str, str | None]] | str:
    """(long option name, value) pairs of option tokens, or why they cannot be read."""
    pairs: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        value: str | None = None
        if token.startswith("--"):
            name, eq, attached = token.partition("=")
            takes_value = name in {*PATH_OPTIONS.values(), *VALUE_OPTIONS, *SOURCE_OPTIONS}
            if eq:
                value = attached
            elif takes_value and index < len(tokens):
                value = tokens[index]
                index += 1
        elif token.startswith("-") and len(token) >= 2:
            short = token[:2]
            name = PATH_OPTIONS.get(short) or SOURCE_OPTIONS.get(short) or short
            value = token[2:] or None
            if value is None and index < len(tokens):
                value = tokens[index]
                index += 1
        else:
            return f"unexpected {token!r}"
        name = SOURCE_OPTIONS.get(name, name)
        if name not in ALLOWED_OPTIONS and name not in SOURCE_OPTIONS.values():
            return f"option {name} is not supported"
        pairs.append((name, value))
    return pairs


def check_requirements_file(files: RepoFiles, path: str) -> str | None:
    """None if ``path`` and everything it includes keep to the policy (module docstring), else
    one line saying where (the chain of includes, the line) and why."""
    seen: set[str] = set()

    def check(chain: list[str]) -> str | None:
        current = chain[-1]
        where = " → ".join(f"`{name}`" for name in chain)
        if current in seen:
            return f"{where}: included twice (a cycle?)"
        seen.add(current)
        if len(seen) > MAX_INCLUDES:
            return f"`{path}`: more than {MAX_INCLUDES} included files"
        try:
            text = files.read(current)
        except UnreadableFile as e:
            return f"{where}: {e}"
        if text is None:
            return f"{where}: not found"
        for number, line in logical_lines(text):
            why, includes = _check_line(files, line, posixpath.dirname(current))
            if why is not None:
                return f"{where} line {number}: {why}"
            for included in includes:
                problem = check([*chain, included])
                if problem is not None:
                    return problem
        return None

    return check([path])


def _check_line(files: RepoFiles, line: str, base: str) -> tuple[str | None, list[str]]:
    """(why the line is refused or None, the repository files it includes)."""
    if "${" in line:
        return "environment variables (${...}) are not expanded", []
    tokens = line.split()
    requirement_tokens: list[str] = []
    for token in tokens:
        if token.startswith("-"):
            break
        requirement_tokens.append(token)
    try:
        option_tokens = shlex.split(" ".join(tokens[len(requirement_tokens) :]))
    except ValueError as e:
        return f"cannot read the options ({e})", []
    options = _options(option_tokens)
    if isinstance(options, str):
        return options, []
    if requirement_tokens:
        why = _check_requirement(files, " ".join(requirement_tokens))
        if why is None:
            extra = [name for name, _ in options if name not in PER_REQUIREMENT_OPTIONS]
            why = f"{extra[0]} is not allowed after a requirement" if extra else None
        return why, []
    includes: list[str] = []
    for name, value in options:
        if name in SOURCE_OPTIONS.values():
            return (
                f"{name} is not allowed (Tandem installs from its own package index only, "
                "over verified TLS)",
                [],
            )
        if name not in ALLOWED_OPTIONS:
            return f"option {name} is not supported", []
        if name not in PATH_OPTIONS.values():
            continue
        if not value:
            return f"{name} needs a value", []
        if name == "--editable":
            why = _check_requirement(files, value, editable=True)
            if why is not None:
                return why, []
            continue
        target = repo_path(base, value)
        if target is None or not files.inside(target):
            return f"{name} {value}: only files inside the repository may be included", []
        includes.append(target)
    return None, includes


def _check_requirement(files: RepoFiles, requirement: str, *, editable: bool = False) -> str | None:
    why = direct_reference(requirement)
    if why:
        return f"{requirement!r}: {why}"
    spec = requirement.split(";", 1)[0].strip()
    looks_like_path = editable or spec.startswith((".", "/", "~")) or "/" in spec or "\\" in spec
    if not looks_like_path:
        return None
    target = repo_path("", _EXTRAS.sub("", spec))
    if target is None or not files.inside(target):
        return f"{requirement!r}: only paths inside the repository are installed"
    return None
