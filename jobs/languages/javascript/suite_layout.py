"""Where a JS/TS package keeps its tests and how they are written (pure: paths and texts in,
a :class:`TestLayout` out), so that a generated test goes where the package's runner looks and
reads like its neighbours (issue 20, items 4 and 5).

- **Where the runner looks**: the ``include``/``exclude`` globs of a vitest config's ``test``
  block, jest's ``testMatch``/``testRegex``/``roots`` (its config file or ``package.json``'s
  ``jest`` field), else the runner's documented defaults. A config is read, never run: a value
  that is not a literal (a variable, a spread, a function) is reported as such and the defaults
  stand in, so the run's own listing of test files (``vitest list``) has the last word.
- **How tests are written**: the layout most of the package's existing test files follow (beside
  their source, in a ``__tests__`` folder, or in a top-level ``test/`` tree mirroring the
  sources), ``.test`` or ``.spec``, ESM or CommonJS, the runner's functions imported or used as
  globals, and relative imports with or without a ``.js`` extension (TypeScript on NodeNext
  writes ``./a.js`` for ``./a.ts``).

Globs are matched with wcmatch (braces, globstar and extglobs, as micromatch reads them), not a
hand-written matcher.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from wcmatch import glob

_GLOB_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.EXTGLOB | glob.DOTGLOB

# The runners' documented defaults (vitest: `test.include`/`test.exclude`; jest: `testMatch`)
VITEST_INCLUDE = ("**/*.{test,spec}.?(c|m)[jt]s?(x)",)
VITEST_EXCLUDE = ("**/node_modules/**", "**/.git/**")
JEST_INCLUDE = ("**/__tests__/**/*.?([mc])[jt]s?(x)", "**/?(*.)+(spec|test).?([mc])[jt]s?(x)")
JEST_EXCLUDE = ("**/node_modules/**",)

Placement = Literal["beside", "__tests__", "tree"]
_TEST_NAME = re.compile(r"^(?P<stem>.+)\.(?P<kind>test|spec)\.(?P<ext>[cm]?[jt]sx?)$")
_STRING = r"""(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`[^`\\$]*`)"""
_RELATIVE_IMPORT = re.compile(
    r"""(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](?P<spec>\.{1,2}/[^'"]+)['"]"""
)


@dataclass(frozen=True)
class Globs:
    include: tuple[str, ...]  # package-relative globs a test file must match
    exclude: tuple[str, ...]
    regex: tuple[str, ...] = ()  # jest's testRegex, matched against the package-relative path
    roots: tuple[str, ...] = ()  # jest's roots: a test must sit under one of them
    source: str = "the runner's defaults"  # where they were read: "vitest.config.ts"
    unread: str | None = None  # why the config's own value could not be read, if so

    def admits(self, path: str) -> bool:
        """Whether the runner would collect a test file at ``path`` (package-relative)."""
        if self.roots and not any(path.startswith(root.rstrip("/") + "/") for root in self.roots):
            return False
        if glob.globmatch(path, list(self.exclude), flags=_GLOB_FLAGS):
            return False
        if self.regex:
            return any(re.search(pattern, "/" + path) for pattern in self.regex)
        return bool(glob.globmatch(path, list(self.include), flags=_GLOB_FLAGS))


@dataclass(frozen=True)
class TestLayout:
    runner: str  # "vitest" or "jest"
    globs: Globs
    placement: Placement
    tree: str  # the top-level test folder when placement is "tree" ("test")
    kind: str  # "test" or "spec"
    esm: bool  # import/export rather than require
    globals: bool  # describe/it/expect used without importing them
    js_extension: bool  # relative imports of TS sources end in ".js"
    existing: int  # the package's test files
    example: str | None = None  # one existing test file, for style
    collected: tuple[str, ...] = ()  # every file of the package its runner collects

    def test_path_for(self, source: str) -> str | None:
        """A package-relative path for a new test of ``source`` (package-relative) that the
        runner collects: the package's own layout first, then the others; None when no
        placement fits its globs (the caller says so)."""
        directory, name = posixpath.split(source)
        stem, ext = posixpath.splitext(name)
        file = f"{stem}.{self.kind}{ext}"
        inner = directory.split("/", 1)[1] if "/" in directory else ""
        candidates = {
            "beside": posixpath.join(directory, file),
            "__tests__": posixpath.join(directory, "__tests__", file),
            "tree": posixpath.join(self.tree, inner, file),
        }
        order = [self.placement, *(p for p in candidates if p != self.placement)]
        for placement in order:
            if self.globs.admits(candidates[placement]):
                return candidates[placement]
        for pattern in self.globs.include:  # a folder the config names: test/unit/**/*.test.ts
            folder = _literal_prefix(pattern)
            path = posixpath.join(folder, file)
            if folder and self.globs.admits(path):
                return path
        return None

    def import_of(self, test: str, source: str) -> str:
        """The specifier a test at ``test`` imports ``source`` with (both package-relative)."""
        relative = posixpath.relpath(source, posixpath.dirname(test) or ".")
        if not relative.startswith("."):
            relative = "./" + relative
        stem, ext = posixpath.splitext(relative)
        if ext in (".ts", ".tsx", ".mts", ".cts"):
            if not self.js_extension:
                return stem
            return stem + {".mts": ".mjs", ".cts": ".cjs"}.get(ext, ".js")
        return relative if self.esm else stem

    def describe(self, command: str | None = None) -> str:
        """The layout for the agent's prompt; ``command``: the exact shell command that runs
        one test file (``<file>``) with the package's own runner, when it is known."""
        where = {
            "beside": "beside their sources",
            "__tests__": "in a `__tests__` folder beside their sources",
            "tree": f"under `{self.tree}/`, mirroring the sources",
        }[self.placement]
        run = command or ("npx vitest run <file>" if self.runner == "vitest" else "npx jest <file>")
        lines = [f"- The runner is {self.runner}: run it (`{run}`), never another runner."]
        lines.append(
            f"- {self.existing} existing test file(s), named `<name>.{self.kind}.<ext>`, {where}."
            if self.existing
            else f"- The package has no tests yet: name them `<name>.{self.kind}.<ext>`, {where}."
        )
        lines.append(
            f"- Test files the runner collects ({self.globs.source}): "
            + ", ".join(f"`{g}`" for g in (self.globs.include or self.globs.regex)[:4])
        )
        lines.append(
            "- Write "
            + ("ES modules (`import`)" if self.esm else "CommonJS (`require`)")
            + "; "
            + (
                f"use {self.runner}'s globals (`describe`, `it`, `expect`)."
                if self.globals
                else f"import `describe`, `it`, `expect` from '{self.runner}'."
                if self.runner == "vitest"
                else "import `describe`, `it`, `expect` from '@jest/globals'."
            )
        )
        if self.js_extension:
            lines.append(
                "- Relative imports of TypeScript files end in `.js` (`./a.js` for `a.ts`)."
            )
        if self.example:
            lines.append(f"- Follow the style of `{self.example}`.")
        return "\n".join(lines)


# What marks a test as written for a runner: its module imported, or its mock object used.
_RUNNER_MARKS = {
    "jest": re.compile(
        r"""(?:from\s+|require\s*\(\s*)['"](?P<module>@jest/globals|jest-mock)['"]"""
        r"|(?<![\w$.])(?P<object>jest)\.(?:fn|mock|spyOn|useFakeTimers|requireActual)\b"
    ),
    "vitest": re.compile(
        r"""(?:from\s+|require\s*\(\s*)['"](?P<module>vitest)['"]"""
        r"|(?<![\w$.])(?P<object>vi)\.(?:fn|mock|spyOn|useFakeTimers|importActual)\b"
    ),
}


def foreign_runner(text: str, runner: str) -> str | None:
    """Why a test file's text is written for another runner than the package's ``runner``
    (vitest's ``vi``/``vitest`` in a jest package, jest's in a vitest one), or None: the
    peers' users' top complaint is a Jest test in a Vitest project."""
    for other, marks in _RUNNER_MARKS.items():
        if other == runner or (found := marks.search(text)) is None:
            continue
        what = found.group("module") or f"{found.group('object')}."
        return f"is written for {other} (it uses `{what}`), and the package's runner is {runner}"
    return None


def tandem_path(test_path: str, suffix: str) -> str:
    """``test/size.test.ts`` → ``test/size.<suffix>.test.ts``: Tandem's file beside it."""
    directory, name = posixpath.split(test_path)
    stem, kind, ext = name.rsplit(".", 2)
    return posixpath.join(directory, f"{stem}.{suffix}.{kind}.{ext}")


def is_test_name(path: str) -> bool:
    """Whether a file's name reads as a test's (``a.test.ts``, ``b.spec.mjs``)."""
    return _TEST_NAME.match(posixpath.basename(path)) is not None


def _kind_collected(globs: Globs) -> str:
    """``spec`` when the runner collects only ``.spec`` files (a package without tests yet
    whose config says ``spec/**/*.spec.ts``), else ``test``."""
    names = [g.rsplit("/", 1)[-1] for g in globs.include]
    named = [n for n in names if "spec" in n or "test" in n]
    return "spec" if named and all("test" not in n for n in named) else "test"


def _literal_prefix(pattern: str) -> str:
    """The folders of a glob before its first wildcard: ``test/unit`` of ``test/unit/**/*.ts``."""
    parts: list[str] = []
    for part in pattern.split("/"):
        if any(c in part for c in "*?[{(!+@"):
            break
        parts.append(part)
    return "/".join(parts[:-1] if parts and parts == pattern.split("/") else parts)


# --- reading the runner's configuration ------------------------------------------------------


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _array_after(key: str, text: str) -> tuple[str, ...] | str | None:
    """The literal string list a config gives ``key`` (``include: ['a', "b"]``, or one string);
    a reason string when it gives something else; None when the key is absent."""
    found = re.search(rf"(?<![\w$.]){key}\s*:\s*", text)
    if found is None:
        return None
    rest = text[found.end() :]
    if (single := re.match(_STRING, rest)) is not None:
        return (_unquote(single.group(0)),)
    values: list[str] = []
    position = re.match(r"\[\s*", rest)
    at = position.end() if position else -1
    while position is not None:
        if rest.startswith("]", at):
            return tuple(values)
        item = re.compile(rf"({_STRING})\s*(,\s*)?").match(rest, at)
        if item is None:
            break
        values.append(_unquote(item.group(1)))
        at = item.end()
    return f"`{key}` is not a literal list"


def _block(text: str, key: str) -> str | None:
    """The text of ``key: { … }`` (braces balanced, strings not considered)."""
    found = re.search(rf"(?<![\w$.]){key}\s*:\s*\{{", text)
    if found is None:
        return None
    depth, start = 0, found.end() - 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index]
    return text[start + 1 :]


def _top_level(block: str) -> str:
    """A block's text with its nested blocks (``coverage: { … }``) blanked out, so that a key
    is read only where the block itself gives it (strings not considered, as in
    :func:`_block`)."""
    depth, kept = 0, []
    for char in block:
        if char == "}":
            depth -= 1
        kept.append(char if depth <= 0 else " ")
        if char == "{":
            depth += 1
    return "".join(kept)


def vitest_globs(config_name: str | None, config_text: str | None) -> Globs:
    """vitest's include/exclude from its config file's ``test`` block, else its defaults."""
    if config_name is None or config_text is None:
        return Globs(VITEST_INCLUDE, VITEST_EXCLUDE)
    block = _block(config_text, "test")
    if block is None:
        return Globs(VITEST_INCLUDE, VITEST_EXCLUDE, source=f"{config_name} (no `test` block)")
    if re.search(r"(?<![\w$.])(projects|workspace)\s*:", block):
        return Globs(
            VITEST_INCLUDE,
            VITEST_EXCLUDE,
            source="the runner's defaults",
            unread=f"{config_name} defines projects, which are not read",
        )
    # the `test` block's own keys: `coverage: { include: ["src/**/*.ts"] }` names sources
    own = _top_level(block)
    include, exclude = _array_after("include", own), _array_after("exclude", own)
    problems = [value for value in (include, exclude) if isinstance(value, str)]
    return Globs(
        include if isinstance(include, tuple) else VITEST_INCLUDE,
        # vitest replaces its default exclude when the config gives one
        exclude if isinstance(exclude, tuple) else VITEST_EXCLUDE,
        source=config_name if (include or exclude) else f"{config_name} (defaults)",
        unread=f"{config_name}: {problems[0]}" if problems else None,
    )


def jest_globs(config_name: str | None, config_text: str | None) -> Globs:
    """jest's testMatch/testRegex/roots from its config (a file, or ``package.json``'s
    ``jest`` field), else its defaults."""
    if config_name is None or config_text is None:
        return Globs(JEST_INCLUDE, JEST_EXCLUDE)
    if config_name == "package.json":
        try:
            manifest = json.loads(config_text)
        except ValueError:
            return Globs(JEST_INCLUDE, JEST_EXCLUDE, unread="package.json does not parse")
        field = manifest.get("jest") if isinstance(manifest, dict) else None
        if not isinstance(field, dict):
            return Globs(JEST_INCLUDE, JEST_EXCLUDE)
        config_text = json.dumps(field)
    text = re.sub(r'"(\w+)"\s*:', r"\1:", config_text)  # JSON keys read like JS ones
    match, regex, roots = (_array_after(key, text) for key in ("testMatch", "testRegex", "roots"))
    ignore = _array_after("testPathIgnorePatterns", text)
    problems = [value for value in (match, regex, roots, ignore) if isinstance(value, str)]

    def rooted(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.replace("<rootDir>/", "").replace("<rootDir>", "") for v in values)

    exclude: tuple[str, ...] = JEST_EXCLUDE
    if isinstance(ignore, tuple):  # regexes in jest; the plain folder names among them count
        exclude = JEST_EXCLUDE + tuple(
            f"**/{name.strip('/')}/**" for name in rooted(ignore) if re.fullmatch(r"[\w./-]+", name)
        )
    return Globs(
        rooted(match) if isinstance(match, tuple) else JEST_INCLUDE,
        exclude,
        regex=regex if isinstance(regex, tuple) else (),
        roots=tuple(r for r in rooted(roots) if r) if isinstance(roots, tuple) else (),
        source=config_name,
        unread=f"{config_name}: {problems[0]}" if problems else None,
    )


# --- the package's existing tests ------------------------------------------------------------


def _placement(test: str, sources: set[str]) -> tuple[Placement, str]:
    directory, name = posixpath.split(test)
    found = _TEST_NAME.match(name)
    stem = found.group("stem") if found else name
    if posixpath.basename(directory) == "__tests__":
        return "__tests__", ""
    if any(posixpath.join(directory, stem + ext) in sources for ext in _SOURCE_EXTENSIONS):
        return "beside", ""
    top = test.split("/", 1)[0] if "/" in test else ""
    return ("tree", top) if top in ("test", "tests", "spec", "__test__") else ("beside", "")


_SOURCE_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def collected_by(globs: Globs, paths: Iterable[str]) -> tuple[str, ...]:
    """The files of ``paths`` (package-relative) the runner collects: its globs' answer, with
    installed packages left out."""
    return tuple(p for p in paths if "node_modules/" not in p and globs.admits(p))


def read_layout(
    runner: str,
    globs: Globs,
    paths: Iterable[str],
    texts: Mapping[str, str],
    manifest: Mapping[str, object],
    *,
    config_text: str | None = None,
) -> TestLayout:
    """The layout of a package from its files (package-relative ``paths``), the texts of some
    of its test files (``texts``), its ``package.json`` and its runner's config text."""
    paths = [p for p in paths if "node_modules/" not in p]
    tests = [p for p in paths if globs.admits(p) and _TEST_NAME.match(posixpath.basename(p))]
    sources = {p for p in paths if p.endswith(_SOURCE_EXTENSIONS) and p not in tests}
    placements = Counter(_placement(test, sources) for test in tests)
    (placement, tree), _ = placements.most_common(1)[0] if placements else (("beside", ""), 0)
    kinds = Counter(
        m.group("kind") for t in tests if (m := _TEST_NAME.match(posixpath.basename(t)))
    )
    read = [texts[t] for t in tests if t in texts]
    esm_votes = sum(bool(re.search(r"^\s*(import|export)\s", t, re.M)) for t in read)
    cjs_votes = sum("require(" in t for t in read)
    esm = manifest.get("type") == "module" if not read else esm_votes >= cjs_votes
    imports_runner = sum(
        bool(re.search(rf"""from\s+['"]({runner}|@jest/globals)['"]""", t)) for t in read
    )
    config_globals = bool(config_text and re.search(r"(?<![\w$.])globals\s*:\s*true", config_text))
    globals_ = runner == "jest" or config_globals if not read else imports_runner * 2 < len(read)
    specifiers = [m.group("spec") for t in read for m in _RELATIVE_IMPORT.finditer(t)]
    js_extension = (
        bool(specifiers)
        and sum(s.endswith(".js") for s in specifiers) * 2 > len(specifiers)
        and any(p.endswith((".ts", ".tsx")) for p in sources)
    )
    return TestLayout(
        runner=runner,
        globs=globs,
        placement=placement,
        tree=tree or "test",
        kind=kinds.most_common(1)[0][0] if kinds else _kind_collected(globs),
        esm=esm,
        globals=globals_,
        js_extension=js_extension,
        existing=len(tests),
        example=min((t for t in tests if t in texts), key=len, default=None),
        collected=collected_by(globs, paths),
    )
