"""jobs.review: pure analysis, and reviews of real git repositories built in tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jobs.review import Finding, ReviewResult, Thresholds, review_checkout, review_source
from jobs.review.metrics import measure_lizard, measure_python
from jobs.review.rules import skip_reason
from jobs.review.sources import FileScope
from tests.test_diff import commit, git

T = Thresholds()


def branchy(name: str, branches: int, indent: str = "") -> str:
    """A Python function with cyclomatic complexity ``branches + 1``, 2 lines per branch."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(branches))
    code = f"def {name}(x):\n{body}    return -1\n"
    return textwrap.indent(code, indent)


def js_branchy(name: str, branches: int) -> str:
    body = "".join(f"  if (x === {i}) {{\n    return {i};\n  }}\n" for i in range(branches))
    return f"function {name}(x) {{\n{body}  return -1;\n}}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def pr(
    repo: Path, base: dict[str, str | bytes | None], head: dict[str, str | bytes | None]
) -> None:
    commit(repo, base, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, head, "head")


def review(repo: Path, thresholds: Thresholds = T, max_file_bytes: int = 1_000_000) -> ReviewResult:
    return review_checkout(repo, "main", "feature", thresholds, max_file_bytes=max_file_bytes)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# -------------------------------------------------------------------------------------------
# measuring


def test_measure_python_metrics() -> None:
    source = textwrap.dedent(
        """\
        import functools

        class Parser:
            @functools.cache
            def parse(self, a, b, /, c, *args, d, **kwargs):
                if a:
                    for x in b:
                        while x:
                            with open(x) as fh:
                                try:
                                    pass
                                except OSError:
                                    if c:
                                        pass
                elif b:
                    pass
                else:
                    pass

                def helper(q):
                    if q:
                        return 1
                    return 2

                return helper

            @classmethod
            def make(cls, value):
                return value and cls() or None
        """
    )
    metrics = {m.name: m for m in measure_python(source)}
    assert list(metrics) == ["Parser.parse", "Parser.parse.helper", "Parser.make"]

    parse = metrics["Parser.parse"]
    # if, elif, for, while, except, inner if: 1 + 6 (the closure is not counted)
    assert parse.complexity == 7
    assert (parse.start_line, parse.end_line, parse.length) == (5, 25, 21)
    assert parse.span_start == 4  # the decorator
    # if > for > while > with > try/except > if; the elif does not nest, the closure is separate
    assert parse.nesting == 6
    assert parse.parameters == 4  # a, b, c, d: not self, *args or **kwargs

    helper = metrics["Parser.parse.helper"]
    assert (helper.complexity, helper.nesting, helper.parameters, helper.length) == (2, 1, 1, 4)

    make = metrics["Parser.make"]
    assert (make.complexity, make.parameters, make.nesting) == (3, 1, 0)


def test_measure_lizard_javascript() -> None:
    source = js_branchy("pick", 3) + "const add = (a, b, c) => { return a + b + c; };\n"
    metrics = {m.name: m for m in measure_lizard("lib/pick.js", source)}
    assert metrics["pick"].complexity == 4
    assert (metrics["pick"].start_line, metrics["pick"].end_line) == (1, 12)
    assert metrics["pick"].parameters == 1
    assert metrics["pick"].nesting == 1
    assert metrics["add"].parameters == 3


def test_review_source_is_pure_and_compares_with_base() -> None:
    base = branchy("f", 8) + "\n" + branchy("g", 3)
    head = branchy("f", 12) + "\n" + branchy("g", 3)
    changed = set(range(18, 26))  # the four new branches of f
    findings, preexisting = review_source("m.py", base, head, changed, T)
    finding = only(findings)
    assert (finding.kind, finding.function, finding.before, finding.after) == (
        "complexity",
        "f",
        9,
        13,
    )
    assert preexisting == 0
    # nothing changed: the same problem is pre-existing, not a finding
    assert review_source("m.py", head, head, set(), T) == ([], 1)


# -------------------------------------------------------------------------------------------
# reviewing real pull requests


def test_complexity_that_went_up_is_reported_with_before_and_after(repo: Path) -> None:
    base = "import os\n\n\n" + branchy("parse_args", 7)
    head = "import os\n\n\n" + branchy("parse_args", 13)
    pr(repo, {"cli.py": base}, {"cli.py": head})

    result = review(repo)

    finding = only(result.findings)
    assert finding.path == "cli.py"
    assert finding.kind == "complexity"
    assert finding.level == "warning"
    assert finding.function == "parse_args"
    assert (finding.before, finding.after) == (8, 14)
    assert (finding.start_line, finding.end_line) == (4, 4 + 13 * 2 + 1)
    assert finding.title == "Complexity 14 in parse_args (was 8)"
    assert finding.raw_details == "cyclomatic complexity: 8 -> 14 (threshold 10)"
    assert "\n" not in finding.message and "8 to 14" in finding.message
    assert (result.files_reviewed, result.preexisting, result.skipped) == (1, 0, [])


def test_complexity_that_went_down_is_not_reported(repo: Path) -> None:
    pr(repo, {"cli.py": branchy("parse_args", 15)}, {"cli.py": branchy("parse_args", 12)})

    result = review(repo)

    assert result.findings == []
    assert result.files_reviewed == 1
    assert result.preexisting == 1  # still complex (13 > 10), but the PR did not cause it


def test_untouched_complex_function_in_a_changed_file_is_only_counted(repo: Path) -> None:
    legacy = branchy("legacy", 20)  # complexity 21, 43 lines
    base = legacy + "\n\ndef small(a):\n    return a\n"
    head = legacy + "\n\ndef small(a):\n    return a + 1\n"
    pr(repo, {"mod.py": base}, {"mod.py": head})

    result = review(repo)

    assert result.findings == []
    assert result.preexisting == 1
    assert result.files_reviewed == 1


def test_new_long_function(repo: Path) -> None:
    body = "".join(f"    total += {i}\n" for i in range(70))
    long_fn = f"def accumulate():\n    total = 0\n{body}    return total\n"
    pr(repo, {"calc.py": "X = 1\n"}, {"calc.py": "X = 1\n\n\n" + long_fn})

    finding = only(review(repo).findings)

    assert (finding.kind, finding.level, finding.function) == ("length", "notice", "accumulate")
    assert (finding.before, finding.after) == (None, 73)
    assert (finding.start_line, finding.end_line) == (4, 76)
    assert finding.title == "Length 73 lines in accumulate (new)"
    assert finding.raw_details == "function length: 73 (new function, threshold 60)"


def test_deep_nesting(repo: Path) -> None:
    base = "def walk(tree):\n    for node in tree:\n        if node:\n            print(node)\n"
    head = textwrap.dedent(
        """\
        def walk(tree):
            for node in tree:
                if node:
                    with node.lock:
                        while node.busy:
                            try:
                                node.step()
                            except ValueError:
                                pass
        """
    )
    pr(repo, {"walk.py": base}, {"walk.py": head})

    finding = only(review(repo).findings)

    assert (finding.kind, finding.level, finding.function) == ("nesting", "notice", "walk")
    assert (finding.before, finding.after) == (2, 5)
    assert finding.title == "Nesting depth 5 in walk (was 2)"


def test_too_many_parameters(repo: Path) -> None:
    head = "class Api:\n    def call(self, a, b, c, d, e, f, g):\n        return a\n"
    pr(repo, {"api.py": "class Api:\n    pass\n"}, {"api.py": head})

    finding = only(review(repo).findings)

    assert (finding.kind, finding.function, finding.after) == ("parameters", "Api.call", 7)
    assert finding.title == "Parameters 7 in Api.call (new)"


def test_javascript_file_with_a_complex_new_function(repo: Path) -> None:
    base = "export function ok(x) {\n  return x;\n}\n"
    head = base + "\n" + js_branchy("route", 12)
    pr(repo, {"web/app.js": base}, {"web/app.js": head})

    result = review(repo)

    finding = only(result.findings)
    assert (finding.path, finding.kind, finding.function) == ("web/app.js", "complexity", "route")
    assert (finding.before, finding.after) == (None, 13)
    assert (finding.start_line, finding.end_line) == (5, 5 + 12 * 3 + 2)
    assert finding.title == "Complexity 13 in route (new)"
    assert result.files_reviewed == 1


def test_syntax_error_gives_one_notice_and_no_crash(repo: Path) -> None:
    base = "def f(x):\n    return x\n"
    head = "def f(x):\n    return x\n\ndef g(:\n    pass\n"
    pr(repo, {"broken.py": base, "fine.py": "A = 1\n"}, {"broken.py": head, "fine.py": "A = 2\n"})

    result = review(repo)

    finding = only(result.findings)
    assert (finding.path, finding.kind, finding.level) == ("broken.py", "syntax_error", "notice")
    assert (finding.start_line, finding.end_line) == (4, 4)
    assert finding.function is None
    assert finding.raw_details.startswith("SyntaxError: invalid syntax (line 4")
    assert result.files_reviewed == 2


def test_syntax_error_already_in_base_is_preexisting() -> None:
    broken = "print 'python 2'\n"
    assert review_source("old.py", broken, broken + "x = 1\n", {2}, T) == ([], 1)


def test_renamed_file_compares_with_the_old_path(repo: Path) -> None:
    pr(repo, {"old/util.py": branchy("helper", 9)}, {})
    git(repo, "mv", "old/util.py", "util.py")
    commit(repo, {"util.py": branchy("helper", 11)}, "rename and grow")

    finding = only(review(repo).findings)

    assert (finding.path, finding.function) == ("util.py", "helper")
    assert (finding.before, finding.after) == (10, 12)  # measured against old/util.py


def test_file_with_a_space_in_its_name(repo: Path) -> None:
    name = "my scripts/do thing.py"
    pr(repo, {name: branchy("run", 2)}, {name: branchy("run", 11)})

    result = review(repo)

    finding = only(result.findings)
    assert (finding.path, finding.function, finding.before, finding.after) == (name, "run", 3, 12)


def test_deleted_and_unsupported_files_are_ignored(repo: Path) -> None:
    pr(
        repo,
        {"gone.py": branchy("old", 20), "README.md": "hi\n"},
        {"gone.py": None, "README.md": "hello\n", "notes.txt": "x\n"},
    )

    assert review(repo) == ReviewResult(findings=[], files_reviewed=0, preexisting=0, skipped=[])


def test_unreviewable_files_are_skipped_with_a_reason(repo: Path) -> None:
    minified = "function a(b){return b}" * 200  # one long line
    pr(
        repo,
        {"ok.py": "A = 1\n"},
        {
            "ok.py": "A = 2\n",
            "static/app.min.js": minified,
            "static/bundle.js": minified,
            "vendor/lib/x.js": "function x() {}\n",
            "gen/api.go": "// Code generated by protoc. DO NOT EDIT.\npackage api\n",
            "latin1.py": "# caf\xe9\nx = 1\n".encode("latin-1"),
            "blob.c": b"int main() { return 0; }\0\0\0",
            "huge.py": "x = 1\n" * 2_000,
        },
    )

    result = review(repo, max_file_bytes=10_000)

    assert result.findings == []
    assert result.files_reviewed == 1
    assert sorted(result.skipped) == [
        "blob.c: binary",
        "gen/api.go: generated",
        "huge.py: too large",
        "latin1.py: not UTF-8",
        "static/app.min.js: generated or minified",
        "static/bundle.js: minified",
        "vendor/lib/x.js: vendored",
    ]


def test_content_skip_reasons() -> None:
    assert skip_reason("a.py", b"x = 1\n") is None
    assert skip_reason("a.py", b"# @generated by tool\nx = 1\n") == "generated"
    assert skip_reason("pkg/msg_pb2.py", b"x = 1\n") == "generated or minified"
    assert skip_reason("node_modules/a/index.js", b"") == "vendored"


def test_a_touched_function_that_stays_the_same_is_not_blamed(repo: Path) -> None:
    # The docstring changes, complexity stays 12: pre-existing, not a finding.
    base = branchy("f", 11)
    head = base.replace("def f(x):\n", 'def f(x):\n    """Doc."""\n')
    pr(repo, {"m.py": base}, {"m.py": head})

    result = review(repo)

    assert result.findings == []
    assert result.preexisting == 1


def test_custom_thresholds(repo: Path) -> None:
    pr(repo, {"m.py": branchy("f", 2)}, {"m.py": branchy("f", 4)})

    assert review(repo).findings == []
    finding = only(review(repo, Thresholds(complexity=3)).findings)
    assert (finding.before, finding.after, finding.raw_details) == (
        3,
        5,
        "cyclomatic complexity: 3 -> 5 (threshold 3)",
    )


# -------------------------------------------------------------------------------------------
# duplication, languages, config-driven output

HELPER = textwrap.dedent(
    """\
    def load(path):
        with open(path) as fh:
            rows = [line.split(",") for line in fh]
        header = rows[0]
        records = [dict(zip(header, row)) for row in rows[1:]]
        records.sort(key=lambda r: r["name"])
        return [r for r in records if r.get("active") == "yes"]
    """
)
COPIED = HELPER.replace("def load(path):", "def load_users(path):")


def test_duplicated_block_names_both_places(repo: Path) -> None:
    pr(
        repo,
        {"io/csvload.py": HELPER, "users.py": "X = 1\n"},
        {"users.py": "X = 1\n\n\n" + COPIED},
    )

    result = review_checkout(repo, "main", "feature", T, duplication_min_lines=5)

    finding = only(result.findings)
    assert (finding.kind, finding.path) == ("duplication", "users.py")
    assert (finding.start_line, finding.end_line) == (5, 10)  # the body, not the def line
    assert finding.title == "Duplicated block (6 lines), also at io/csvload.py:2-7"
    assert finding.raw_details == (
        "duplicate: users.py:5-10 = io/csvload.py:2-7 (6 significant lines)"
    )
    # below min_lines nothing is reported; disabled means no duplication pass at all
    assert review_checkout(repo, "main", "feature", T, duplication_min_lines=7).findings == []
    assert review_checkout(repo, "main", "feature", T).findings == []


def test_duplication_within_the_pr_reports_the_later_copy_once(repo: Path) -> None:
    pr(repo, {"a.py": "A = 1\n"}, {"a.py": "A = 1\n\n\n" + HELPER, "b.py": COPIED})

    finding = only(review_checkout(repo, "main", "feature", T, duplication_min_lines=6).findings)

    assert (finding.path, finding.start_line) == ("b.py", 2)
    assert "also at a.py:5-10" in finding.title


def test_code_that_was_moved_is_not_a_duplicate(repo: Path) -> None:
    pr(repo, {"old.py": HELPER}, {"old.py": None, "new.py": HELPER})

    assert review_checkout(repo, "main", "feature", T, duplication_min_lines=5).findings == []


def test_languages_limit_what_is_reviewed(repo: Path) -> None:
    pr(
        repo,
        {"web/app.js": "function ok(x) {\n  return x;\n}\n", "m.py": "A = 1\n"},
        {"web/app.js": js_branchy("route", 12), "m.py": branchy("f", 12)},
    )

    both = review_checkout(repo, "main", "feature", T)
    python_only = review_checkout(repo, "main", "feature", T, scope=FileScope(languages=["python"]))

    assert sorted(f.path for f in both.findings) == ["m.py", "web/app.js"]
    assert [f.path for f in python_only.findings] == ["m.py"]
    assert python_only.languages_off == {"javascript": 1}


def test_complexity_that_went_down_is_a_positive_note(repo: Path) -> None:
    pr(repo, {"cli.py": branchy("parse_args", 15)}, {"cli.py": branchy("parse_args", 12)})

    result = review(repo)

    assert result.findings == []
    (improved,) = result.improved
    assert (improved.function, improved.before, improved.after) == ("parse_args", 16, 13)
    assert result.touched == []  # only lines were removed: nothing for the LLM pass


def test_paths_config_excludes_files_from_the_review(repo: Path) -> None:
    from bot.filters import path_filter
    from core.repo_config_file import parse_config

    complex_head = branchy("parse_args", 13)
    pr(
        repo,
        {"README.md": "hi\n"},
        {"src/cli.py": complex_head, "vendor/lib.py": complex_head},
    )
    config = parse_config("paths:\n  include: ['src/**', 'vendor/**']\n  exclude: ['vendor/**']\n")

    result = review_checkout(
        repo, "main", "feature", T, scope=FileScope(selected=path_filter(config))
    )

    assert [f.path for f in result.findings] == ["src/cli.py"]
    assert result.files_reviewed == 1
