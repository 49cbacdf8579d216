"""How a project's own test command runs its suite (pure: words in, data out).

A project's tox env or nox session says how its CI runs the tests: ``pytest --doctest-modules
src tests``, ``python -m pytest -p xdist ...``, ``coverage run -m pytest ...``, ``{envpython}
-m pytest ...``, or ``python -m unittest discover tests``. pytest's configuration files hold only
part of that: the doctests of ``--doctest-modules`` or the paths on the command line are not
in them. :func:`from_commands` reads the command that runs pytest on the suite (or, where none does,
unittest) into a :class:`TestCommand`: the options that decide which tests run and how, the
paths it names, and a line for each part the baseline must not take (pytest-cov's options:
Tandem measures; xdist's: coverage follows one process; ``--junitxml``: Tandem writes its own;
``-x``, ``--maxfail``, ``--lf``: the baseline runs every test; output flags; an option Tandem
does not know; a tox substitution it cannot resolve). The PR's author writes these commands:
they are read, never run.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Literal

# pytest's options that decide which tests run and how, which the baseline takes
_KEEP_VALUE = frozenset({
    "-p", "-m", "-k", "-W", "-c", "-o", "--ignore", "--ignore-glob", "--deselect",
    "--override-ini", "--import-mode", "--pythonwarnings", "--rootdir", "--config-file",
    "--doctest-glob", "--confcutdir", "--asyncio-mode",
})  # fmt: skip
_KEEP_FLAG = frozenset({
    "--doctest-modules", "--strict-markers", "--strict", "--strict-config", "--pyargs",
    "--doctest-continue-on-failure", "--runxfail", "--noconftest",
    "--continue-on-collection-errors",
})  # fmt: skip
# Those it leaves out, with why; the first set takes a value
_COVERAGE = "coverage is Tandem's"
_XDIST = "Tandem's coverage follows one process"
_ALL = "the baseline runs every test"
_OUTPUT = "output only"
_DROP_VALUE = {
    **dict.fromkeys(("--cov-report", "--cov-config", "--cov-fail-under", "--cov-context"),
                    _COVERAGE),
    **dict.fromkeys(("-n", "--numprocesses", "--dist", "--maxprocesses", "--tx"), _XDIST),
    **dict.fromkeys(("--junitxml", "--junit-xml", "--junit-prefix"), "Tandem writes its own"),
    "--maxfail": _ALL,
    **dict.fromkeys(("-r", "--tb", "--durations", "--durations-min", "--color", "--capture",
                     "--code-highlight", "--log-level", "--log-cli-level", "--html"), _OUTPUT),
    "--basetemp": "Tandem's temporary folder",
    "--timeout": "the sandbox's timeout applies",
    "--reruns": "a test passes or fails once",
}  # fmt: skip
_DROP_FLAG = {
    **dict.fromkeys(("--cov-append", "--cov-branch", "--no-cov", "--no-cov-on-fail"), _COVERAGE),
    **dict.fromkeys(("-x", "--exitfirst", "--lf", "--last-failed", "--ff", "--failed-first",
                     "--nf", "--new-first", "--sw", "--stepwise", "--pdb", "--trace",
                     "--cache-clear"), _ALL),
    **dict.fromkeys(("-v", "--verbose", "-q", "--quiet", "-s", "-l", "--showlocals",
                     "--no-header", "--no-summary", "--disable-warnings",
                     "--disable-pytest-warnings", "--setup-show", "--full-trace",
                     "--fulltrace"), _OUTPUT),
}  # fmt: skip
# Of those kept, the options that decide how the project's tests import, collect and warn, not
# which of them run: every pytest run of the project takes them (candidates, the base commit's,
# the mutants'), not only the baseline (:attr:`TestCommand.how`)
_HOW = frozenset({
    "-p", "-W", "-c", "-o", "--override-ini", "--import-mode", "--pythonwarnings", "--rootdir",
    "--config-file", "--confcutdir", "--asyncio-mode", "--strict-markers", "--strict",
    "--strict-config", "--noconftest",
})  # fmt: skip
_SHORT_VALUE = frozenset("pmkWcorn")  # short options whose value may follow attached: -pno:x
_SHORT_FLAG = frozenset("vqxsl")
_SUBSTITUTION = re.compile(r"\{[^{}]*\}")
_ROOT = re.compile(r"^\{toxinidir\}(?:/+|$)")
_PATH_OPTIONS = frozenset({
    "--ignore", "--deselect", "--rootdir", "-c", "--config-file", "--confcutdir",
})  # fmt: skip
_PYTHON = re.compile(r"^(?:.*/)?python(?:\d+(?:\.\d+)*)?(?:\.exe)?$")
_NAMES_PYTEST = re.compile(r"\bpy\.?test\b")
_WRAPPERS = frozenset({"poetry", "uv", "pdm", "pipenv", "hatch"})  # "<wrapper> run pytest"
# The wrappers' own options that take a value ("uv run --with pytest pytest")
_WRAPPER_VALUE = frozenset({
    "--group", "--only-group", "--no-group", "--extra", "--with", "--with-editable",
    "--with-requirements", "--python", "-p", "--package", "--directory", "--project",
    "--env-file", "--index", "--index-url", "--extra-index-url", "-e", "--env", "-w",
})  # fmt: skip
_DOCUMENTS = (".rst", ".md", ".txt")  # pytest runs their doctests


@dataclass(frozen=True)
class TestCommand:
    __test__ = False  # not a pytest class

    runner: Literal["pytest", "unittest"]
    source: str  # "`tox.ini` [testenv] commands", "`noxfile.py` session `tests`"
    args: tuple[str, ...] = ()  # pytest: the options it keeps; unittest: all its arguments
    paths: tuple[str, ...] = ()  # pytest: the test paths it names
    dropped: tuple[str, ...] = ()  # what the baseline leaves out, and why
    # unittest: the interpreter's warning filters (`python -W error -m unittest`), ("-W", "error")
    warnings: tuple[str, ...] = ()

    @property
    def how(self) -> tuple[str, ...]:
        """pytest: the kept options that decide how the tests import, collect and warn (``-p``,
        ``-W``, ``-c``, ``-o``, ``--import-mode``, ``--rootdir``, ``--strict-markers``, ...),
        which every pytest run of the project takes; unittest: its interpreter's ``-W``
        filters, as pytest's ``-W`` (its candidates and mutants run under pytest)."""
        return self.warnings if self.runner == "unittest" else self._options(how=True)

    @property
    def which(self) -> tuple[str, ...]:
        """pytest: the kept options that decide which tests run (``--doctest-modules``, ``-m``,
        ``-k``, ``--ignore``, ...): the baseline's alone, as the command's paths are."""
        return self._options(how=False)

    def _options(self, *, how: bool) -> tuple[str, ...]:
        if self.runner != "pytest":
            return ()
        chosen: list[str] = []
        i = 0
        while i < len(self.args):
            taken, i = _one_option(list(self.args), i)
            words = taken[0] if taken is not None else [self.args[i - 1]]
            if (option_name(words[0]) in _HOW) == how:
                chosen.extend(words)
        return tuple(chosen)

    @property
    def tells(self) -> bool:
        """Whether the baseline runs otherwise than plain pytest (or leaves something out)."""
        return self.runner == "unittest" or bool(self.args or self.paths or self.dropped)

    def describe(self) -> str:
        """One line for the install note: where the options came from and what they are."""
        taken = shlex.join([*self.args, *self.paths]) if self.runner == "pytest" else ""
        interpreter = f"python {shlex.join(self.warnings)} " if self.warnings else ""
        line = (
            f"pytest options from {self.source}: {taken or 'none'}"
            if self.runner == "pytest"
            else f"unittest from {self.source}: {interpreter}{shlex.join(self.args) or 'discover'}"
        )
        return line + (f" (left out: {'; '.join(self.dropped)})" if self.dropped else "")


def option_name(word: str) -> str:
    """``--import-mode=importlib`` → ``--import-mode``; ``-pno:x`` → ``-p``."""
    return word.split("=", 1)[0] if word.startswith("--") else word[:2]


def tox_words(line: str) -> tuple[list[str], list[str]]:
    """A tox command line's words, its substitutions resolved as tox would without
    arguments (``{posargs:tests}`` is ``tests``); one it cannot resolve stays in its word,
    which :func:`from_words` then leaves out. Also what did not split, as a note."""
    # tox 4's names for the same (``{/}`` is the path separator); the root stays a
    # substitution, which :func:`place` reads where a path is expected
    for new, old in (("{toxinidir}", "{tox_root}"), ("/", "{/}"), ("{envpython}", "{env_python}"),
                     ("{envbindir}", "{env_bin_dir}")):  # fmt: skip
        line = line.replace(old, new)
    line = line.replace("{envpython}", "python").replace("{envbindir}/", "")
    line = re.sub(r"\{env:[^:{}]+:([^{}]*)\}", r"\1", line)  # unset: its default
    # its default may hold substitutions itself: {posargs:--cov-config={toxinidir}/tox.ini}
    line = re.sub(r"\{posargs(?::((?:[^{}]|\{[^{}]*\})*))?\}", lambda m: m.group(1) or "", line)
    try:
        words = [w for w in shlex.split(line) if w]
    except ValueError as e:
        return [], [f"{line[:100]!r} cannot be split ({e})"]
    if words and words[0] in ("-", "!"):  # tox's prefixes: ignore the exit code, invert it
        words = words[1:]
    elif words and words[0][:1] in ("-", "!") and not words[0].startswith("--"):
        words[0] = words[0][1:]
    return words, []


def runner_args(words: list[str], module: str) -> list[str] | None:
    """The arguments a command gives ``module`` (``pytest`` or ``unittest``), when it runs it:
    ``pytest ...`` (and ``py.test``, ``<wrapper> run pytest``) for pytest, or ``python -m
    <module> ...``, ``coverage run [opts] -m <module> ...``; else None."""
    names = ("pytest", "py.test") if module == "pytest" else (module,)
    i = 0
    while i < len(words) and "=" in words[i] and not words[i].startswith("-"):
        i += 1  # FOO=bar pytest
    if i + 1 < len(words) and words[i] in _WRAPPERS and words[i + 1] == "run":
        i += 2
        while i < len(words) and words[i].startswith("-"):  # uv run --group test pytest
            i += 2 if words[i] in _WRAPPER_VALUE else 1
    if i >= len(words):
        return None
    head = words[i].rsplit("/", 1)[-1]
    if head in names:
        return words[i + 1 :]
    if not (_PYTHON.match(head) or head == "coverage"):
        return None
    for j in range(i + 1, len(words) - 1):
        if words[j] == "-m" and words[j + 1] in names:
            flags = _warning_flags(words[i + 1 : j], head) if module == "pytest" else []
            return [*flags, *words[j + 2 :]]
        if words[j] == "-m" and words[j + 1] != "coverage":
            return None  # another module: `python -m pip install pytest`
    return None


def interpreter_warnings(words: list[str], module: str) -> list[str]:
    """The interpreter's ``-W`` filters of a command that runs ``module`` with ``python ... -m
    module`` (``["-W", "error"]``), none for any other form."""
    i = 0
    while i < len(words) and "=" in words[i] and not words[i].startswith("-"):
        i += 1  # FOO=bar python ...
    if i >= len(words) or "-m" not in words[i + 1 :]:
        return []
    j = words.index("-m", i + 1)
    if j + 1 >= len(words) or words[j + 1] != module:
        return []
    return _warning_flags(words[i + 1 : j], words[i].rsplit("/", 1)[-1])


def _warning_flags(before: list[str], head: str) -> list[str]:
    """The interpreter's ``-W`` filters before ``-m`` (``python -W error -m pytest``): pytest
    takes them as its own ``-W`` (which every pytest run takes), unittest's interpreter as
    they are; none after ``-m coverage`` (coverage's interpreter, not the suite's)."""
    if not _PYTHON.match(head):
        return []
    flags: list[str] = []
    k = 0
    while k < len(before) and before[k].startswith("-") and before[k] != "-m":
        word = before[k]
        if word == "-W" and k + 1 < len(before):
            flags += ["-W", before[k + 1]]
            k += 1
        elif word.startswith("-W") and len(word) > 2:
            flags += ["-W", word[2:]]
        elif word == "-X":  # the one other interpreter option with a separate value
            k += 1
        k += 1
    return flags


def place(path: str, changedir: str | None = None) -> str:
    """A path of a tox command as the project's root sees it: ``{toxinidir}/x`` is ``x``; any
    other relative path is relative to tox's ``changedir`` where it has one."""
    root = _ROOT.match(path)
    if root is not None:
        return path[root.end() :] or "."
    if changedir is None or path.startswith("/") or _SUBSTITUTION.search(path):
        return path
    return posixpath.normpath(posixpath.join(changedir, path))


def _place_option(words: list[str], changedir: str | None) -> list[str]:
    """An option's words with its value placed (:func:`place`), for the options whose value
    is a path."""
    name = words[0].split("=", 1)[0]
    if name not in _PATH_OPTIONS and words[0][:2] not in _PATH_OPTIONS:
        return words
    if len(words) == 2:
        return [words[0], place(words[1], changedir)]
    if "=" in words[0]:
        return [f"{name}={place(words[0].split('=', 1)[1], changedir)}"]
    if not words[0].startswith("--") and len(words[0]) > 2:  # -ctox.ini
        return [words[0][:2] + place(words[0][2:], changedir)]
    return words


def pytest_parts(
    args: list[str], changedir: str | None = None
) -> tuple[list[str], list[str], list[str]]:
    """(options kept, paths, what was left out and why) of pytest's arguments; paths (and
    the values of options that are paths) as the project's root sees them (:func:`place`)."""
    kept, paths, dropped = _split(args, changedir)
    holes = {p: hole.group() for p in paths if (hole := _SUBSTITUTION.search(p))}
    dropped += [f"{p} ({hole} is not resolved)" for p, hole in holes.items()]
    return kept, [p for p in paths if p not in holes], dropped


def runs_the_suite(args: list[str], changedir: str | None = None) -> bool:
    """Whether a pytest command runs the project's tests: it names no path (pytest's own
    testpaths), or one that is neither a text document nor where tox installs the package
    (``{envsitepackagesdir}/pkg``). tox envs often run the doctests of their documents or of
    the installed package first and the suite last; the baseline is one run, of the suite."""
    paths = _split(args, changedir)[1]
    return not paths or any(
        not _SUBSTITUTION.search(p) and not p.lower().endswith(_DOCUMENTS) for p in paths
    )


def _split(args: list[str], changedir: str | None) -> tuple[list[str], list[str], list[str]]:
    """:func:`pytest_parts` before the paths with a substitution are set apart."""
    kept: list[str] = []
    paths: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            paths.extend(place(p, changedir) for p in args[i + 1 :])
            break
        taken, i = _one_option(args, i)
        if taken is None:
            paths.append(place(word, changedir))
            continue
        words, why = _place_option(taken[0], changedir), taken[1]
        if why is None and (hole := _SUBSTITUTION.search(" ".join(words))) is not None:
            why = f"{hole.group()} is not resolved"
        if why is None:
            kept.extend(words)
        else:
            dropped.append(f"{shlex.join(words)} ({why})")
    return kept, paths, dropped


def _one_option(args: list[str], i: int) -> tuple[tuple[list[str], str | None] | None, int]:
    """The option at ``args[i]`` with its value, and why it is left out (None: kept), and
    where the next word is; (None, i + 1) for a path."""
    word = args[i]
    if not word.startswith("-") or word == "-":
        return None, i + 1
    following = args[i + 1] if i + 1 < len(args) else None
    if word.startswith("--"):
        name, has_value = word.split("=", 1)[0], "=" in word
        if name == "--cov":  # its value is optional: argparse takes a next word that is one
            if not has_value and following is not None and not following.startswith("-"):
                return ([word, following], _COVERAGE), i + 2
            return ([word], _COVERAGE), i + 1
        if name.startswith("--cov") and name not in _DROP_VALUE:
            return ([word], _COVERAGE), i + 1
        takes = name in _KEEP_VALUE or name in _DROP_VALUE
        if takes and not has_value and following is not None:
            return ([word, following], _DROP_VALUE.get(name)), i + 2
        if takes or name in _KEEP_FLAG or name in _DROP_FLAG:
            return ([word], _DROP_VALUE.get(name) or _DROP_FLAG.get(name)), i + 1
        return ([word], "an option Tandem does not know"), i + 1
    return _short(word, following, i)


def _short(
    word: str, following: str | None, i: int
) -> tuple[tuple[list[str], str | None] | None, int]:
    """Short options, combined (``-vx``) or with an attached value (``-pno:cacheprovider``,
    ``-rA``)."""
    why: str | None = None
    for k, letter in enumerate(word[1:], start=1):
        if letter in _SHORT_FLAG:
            why = why or _DROP_FLAG[f"-{letter}"]
            continue
        if letter not in _SHORT_VALUE:
            return ([word], "an option Tandem does not know"), i + 1
        option = f"-{letter}"
        why = why or _DROP_VALUE.get(option)  # "-vk x": kept only as a whole, left out here
        if word[k + 1 :]:
            return ([word], why), i + 1
        if following is None:
            return ([word], f"{option} without its value"), i + 1
        return ([word, following], why), i + 2
    return ([word], why), i + 1


def from_words(
    commands: list[list[str]],
    source: str,
    notes: list[str] | None = None,
    changedir: str | None = None,
) -> TestCommand | None:
    """The first of ``commands`` that runs pytest's suite (:func:`runs_the_suite`; else the
    first that runs pytest), read; where none does, the first that runs
    unittest (its arguments as they are, but for the root's substitution); else None.
    ``notes``: lines already known to be left out (a command that did not split).
    ``changedir``: where tox runs the commands, when not the project's root."""
    dropped = list(notes or [])
    runs = [args for words in commands if (args := runner_args(words, "pytest")) is not None]
    if runs:
        suite = next((run for run in runs if runs_the_suite(run, changedir)), runs[0])
        kept, paths, left_out = pytest_parts(suite, changedir)
        more = ["its other pytest commands (the baseline is one run)"] if len(runs) > 1 else []
        return TestCommand(
            "pytest", source, tuple(kept), tuple(paths), (*dropped, *left_out, *more)
        )
    if any(_NAMES_PYTEST.search(" ".join(words)) for words in commands):
        return None  # pytest in a form not read: which runner it is, is not known
    for words in commands:
        args = runner_args(words, "unittest")
        if args is not None:
            placed = tuple(place(arg) for arg in args)
            warnings = tuple(interpreter_warnings(words, "unittest"))
            return TestCommand("unittest", source, placed, (), tuple(dropped), warnings)
    return None


def from_commands(
    lines: list[str], source: str, changedir: str | None = None
) -> TestCommand | None:
    """:func:`from_words` of tox's command lines, their substitutions resolved first."""
    commands: list[list[str]] = []
    notes: list[str] = []
    for line in lines:
        words, why = tox_words(line)
        commands.append(words)
        notes.extend(why)
    return from_words(commands, source, notes, changedir)
