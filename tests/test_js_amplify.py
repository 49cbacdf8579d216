"""Test amplification for JS/TS (``amplify-js``): its pure parts on plain data (the variants,
the probe, the observations and the tests written from them), and one real run on a small
vitest package whose change only an input no existing test gives shows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jobs.languages.javascript import javascript_runs
from jobs.languages.javascript.js_amplify import (
    AmplifyJs,
    beside,
    by_file,
    files_naming_the_change,
    ran_changed_lines,
    ranked,
)
from jobs.languages.javascript.js_amplify_text import (
    Difference,
    Observation,
    differences,
    probe_text,
    read_observations,
    written_text,
)
from jobs.languages.javascript.js_amplify_variants import (
    Expect,
    Scan,
    ScannedFile,
    ScannedTest,
    Site,
    Unit,
    Utf16,
    at_length,
    parse_scan,
    replacements,
    variants,
)
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import SeedPlan
from tests.js_support import base_then_head, node_or_skip, npm_install, vitest_ts_files

TEST_FILE = """\
import { describe, expect, it } from "vitest";
import { isBig, label } from "../src/size";

describe("size", () => {
  it("is big", () => {
    expect(isBig(20)).toBe(true);
  });

  it("labels", () => {
    expect(label("a")).toBe("A");
  });
});
"""


def at(text: str, part: str, nth: int = 0) -> int:
    """The UTF-16 offset of the ``nth`` occurrence of ``part`` in the ASCII ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(part, index + 1)
    return index


def scanned_file() -> ScannedFile:
    """What ``js_amplify.cjs`` reads of TEST_FILE, with the offsets it would give."""
    text = TEST_FILE
    start = at(text, 'it("is big"')
    end = at(text, "});", 0) + 3
    number = at(text, "20")
    call = at(text, "expect(isBig")
    test = ScannedTest(
        "size > is big",
        start,
        end,
        (start + 3, start + 11),
        end - start,
        (Site("number", number, number + 2, "20", 20),),
        (
            Expect(
                call,
                call + 6,
                (call + 7, call + 16),
                6,
                5,
                (),
                "toBe",
                (call + 17, at(text, "true);") + 5),
                (call, at(text, "true);") + 6),
            ),
        ),
    )
    second = at(text, 'it("labels"')
    units = (
        Unit(
            "block",
            "size",
            at(text, 'describe("size"') - 1,
            len(text) - 1,
            (
                Unit("test", "size > is big", start - 3, end, (), start),
                Unit("test", "size > labels", second - 4, at(text, "});", 1) + 3, (), second),
            ),
        ),
    )
    return ScannedFile("test/size.test.ts", text, True, at(text, "\n\ndescribe"), units, (test,))


def test_a_number_gets_the_changes_own_values_first_then_its_neighbours() -> None:
    site = Site("number", 0, 2, "20", 20)
    own, generic = replacements(site, Scan(numbers=(10.0,)), nullish=False)
    assert own == ["10", "11", "9"]
    assert generic == ["21", "19", "0", "-20"]
    assert "null" in replacements(site, Scan(), nullish=True)[1]


def test_strings_booleans_and_arrays_get_their_edits() -> None:
    own, generic = replacements(Site("string", 0, 3, '"a"', "a"), Scan(strings=("-",)), False)
    assert own == ['"a-"', '"-a"', '"-"']
    assert generic[:2] == ['""', '"aa"']  # emptied; "a"[1:] is "" again, so left out
    assert replacements(Site("boolean", 0, 4, "true", True), Scan(), False) == ([], ["false"])
    tagged = replacements(Site("template", 0, 4, "`\\``", "`"), Scan(), True)[1]
    assert tagged[:2] == ["``", "`\\`\\``"] and "null" not in tagged  # `` ` `` doubled
    entity = Site("string", 0, 9, '"&#1234;"', "&#1234;")
    assert '"&#1235;"' in replacements(entity, Scan(), False)[1]
    array = Site("array", 0, 6, "[1, 2]", None, ("1", "2"))
    assert replacements(array, Scan(), False)[1] == ["[2]", "[1, 1, 2]", "[1]", "[1, 2, 2]"]
    assert replacements(Site("null", 0, 4, "null"), Scan(), True)[1] == ["undefined"]


def test_a_length_the_change_compares_cuts_a_strings_last_word_and_itself() -> None:
    # chrono: `match[0].trim().length <= 3` changed; a date's year of 4 digits never reached it
    assert at_length("Thu Oct 26 11:00:09 2023", 3) == ["Thu Oct 26 11:00:09 202", "Thu"]
    assert at_length("ab", 3) == []
    site = Site("string", 0, 12, '"Oct 26 2023"', "Oct 26 2023")
    own, _ = replacements(site, Scan(numbers=(3.0,), lengths=(3,)), nullish=False)
    assert own[:2] == ['"Oct 26 202"', '"Oct"']


def test_variants_try_every_site_once_before_any_twice() -> None:
    sites = (Site("number", 0, 1, "1", 1), Site("boolean", 2, 6, "true", True))
    test = ScannedTest("t", 0, 9, (0, 0), 9, sites, ())
    made = variants(test, Scan(), nullish=False, limit=3)
    assert [(v.site.text, v.text) for v in made] == [("1", "2"), ("true", "false"), ("1", "0")]
    assert made[0].what == "2 instead of 1"


def test_utf16_offsets_hold_past_characters_outside_the_bmp() -> None:
    doc = Utf16('"😀" + x')
    assert doc.slice(0, 4) == '"😀"'  # the emoji is two UTF-16 units
    assert doc.edited(0, 8, [(7, 8, "y"), (0, 4, '""')]) == '"" + y'


def test_the_probe_holds_only_the_variants_each_observing_its_expects() -> None:
    file = scanned_file()
    made = variants(file.tests[0], Scan(numbers=(10.0,)), nullish=False, limit=2)
    text = probe_text(file, made, "/tmp/out.json")
    assert text.startswith("// @ts-nocheck\n")
    assert 'it("__tandem_v0", () => {\n    __tandemObs(0, 0)(isBig(10)).toBe(true);' in text
    assert 'it("__tandem_v1"' in text and "isBig(11)" in text
    assert "labels" not in text and "isBig(20)" not in text  # the other tests are left out
    assert 'const __TANDEM_OUT = "/tmp/out.json";' in text
    assert text.index("__tandemObs(v, k)") > text.index('from "../src/size";')


def test_what_differs_on_the_base_becomes_a_test_of_the_heads_value() -> None:
    file = scanned_file()
    made = variants(file.tests[0], Scan(numbers=(10.0,)), nullish=False, limit=3)
    true, false = Observation("value", "true"), Observation("value", "false")
    head = {0: {0: (true,)}, 1: {0: (false,)}, 2: {0: (true,)}}
    base = {0: {0: (false,)}, 1: {0: (false,)}, 2: {0: (true,)}}
    found = differences(3, head, base, head, passed={0, 1, 2})
    assert found == [Difference(0, {0: (true,)}, frozenset({0}))]
    # observed otherwise by the head's second run: no difference
    assert differences(3, head, base, {0: {0: (false,)}}, passed={0, 1, 2}) == []
    assert differences(3, head, base, None, passed={1, 2}) == []  # its probe test failed
    text, count = written_text(file, made, found, "size.test.ts", 8)
    assert count == 1 and text is not None
    assert 'it("is big with 10 instead of 20", () => {' in text
    assert "expect(isBig(10)).toEqual(true);" in text
    assert "labels" not in text and 'describe("size"' in text
    assert "Tests amplified by Tandem from size.test.ts" in text
    assert text.endswith(
        'describe("size", () => {\n  it("is big with 10 instead of 20", () => {\n'
        "    expect(isBig(10)).toEqual(true);\n  });\n});\n"
    )


def test_a_throw_is_asserted_by_its_message_and_an_opaque_statement_left_out() -> None:
    file = scanned_file()
    made = variants(file.tests[0], Scan(), nullish=False, limit=1)
    thrown = Observation("throws", message="too big")
    found = [Difference(0, {0: (thrown,)}, frozenset({0}))]
    text, _ = written_text(file, made, found, "size.test.ts", 8)
    assert text is not None and 'expect(isBig(21)).toThrow("too big");' in text
    opaque = [Difference(0, {0: (Observation("opaque"),)}, frozenset({0}))]
    assert written_text(file, made, opaque, "size.test.ts", 8) == (None, 0)


def test_observations_naming_the_runs_paths_are_opaque() -> None:
    data = {"0": {"0": [{"kind": "throws", "message": "no /work/x/file"}, {"kind": "value"}]}}
    seen = read_observations(json.dumps(data), ("/work/x",))
    assert seen == {0: {0: (Observation("opaque"), Observation("value"))}}
    assert read_observations("not json") == {}


def test_the_tests_that_ran_the_most_changed_lines_come_first() -> None:
    record = {
        "passed": ["t/a.test.ts > a > one", "t/a.test.ts > a > two", "t/b.test.ts > three"],
        "tests": {
            "t/a.test.ts > a > one": {"src/a.ts": [1]},
            "t/a.test.ts > a > two": {"src/a.ts": [1, 2]},
            "t/b.test.ts > three": {"src/a.ts": [7]},  # no changed line
            "t/b.test.ts > failed": {"src/a.ts": [1]},  # not passed
        },
    }
    ran = ran_changed_lines(record, {"src/a.ts": {1, 2}})
    assert ran == {"t/a.test.ts > a > two": 2, "t/a.test.ts > a > one": 1}
    assert by_file(ran, 1) == {"t/a.test.ts": ["a > two"]}
    assert ran_changed_lines({"tests": "x"}, {}) == {}


def test_without_each_tests_lines_the_files_that_ran_or_name_the_change_are_varied() -> None:
    record = {"files": {"t/a.test.ts": {"src/a.ts": [3]}, "t/b.test.ts": {}}, "tests": {}}
    assert files_naming_the_change(record, {"src/a.ts": {3}}, {}, 5) == ["t/a.test.ts"]
    texts = {"t/b.test.ts": 'import { a } from "../src/a";'}
    silent = {"files": {"t/a.test.ts": {}, "t/b.test.ts": {}}}
    assert files_naming_the_change(silent, {"src/a.ts": {3}}, texts, 5) == ["t/b.test.ts"]


def test_tandems_files_go_beside_the_test_file() -> None:
    assert beside("test/a.test.ts", "tandem-amplified") == "test/a.tandem-amplified.test.ts"
    assert beside("__tests__/a.js", "tandem-amp-probe") == "__tests__/a.tandem-amp-probe.js"


def test_a_malformed_scan_is_a_file_with_a_problem() -> None:
    scan = parse_scan({"files": {"a.test.ts": {"prelude": "x"}}}, {"a.test.ts": ""})
    assert scan.files[0].problem == "malformed scan"
    assert ranked(scan, {}, 5) == {}


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


SIZE_BASE = "export const isBig = (n: number): boolean => n > 10;\n"
SIZE_HEAD = "export const isBig = (n: number): boolean => n >= 10;\n"
SIZE_TEST = """\
import { expect, it } from "vitest";
import { isBig } from "../src/size";

it("is big", () => {
  expect(isBig(20)).toBe(true);
});
"""


@pytest.mark.slow
async def test_a_vitest_package_gets_the_existing_test_at_the_changes_own_value(
    node: Node, tmp_path: Path
) -> None:
    """The existing test runs the changed line on both commits alike; its variant at the
    change's own literal (10) tells them apart, and becomes a test vitest passes on the head
    and fails on the base."""
    root = tmp_path / "pkg"
    files = vitest_ts_files({"src/size.ts": SIZE_BASE, "test/size.test.ts": SIZE_TEST})
    base_sha = base_then_head(root, files, {"src/size.ts": SIZE_HEAD})
    sandbox = LocalSandbox()
    await npm_install(sandbox, node, root)
    await javascript_runs.prepare_coverage(sandbox, root, ["src/size.ts"])
    changed = {"src/size.ts": {1}}
    baseline = await javascript_runs.run_suite(sandbox, root, changed, timeout_s=300)
    assert baseline.ok, baseline.describe()
    workspace = Workspace(
        sandbox, root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha, changed
    )
    outcome = await AmplifyJs().generate(workspace, [])
    assert outcome.written == ["test/size.tandem-amplified.test.ts"], outcome.notes
    text = (root / outcome.written[0]).read_text()
    assert 'it("is big with 10 instead of 20", () => {' in text
    assert "expect(isBig(10)).toEqual(true);" in text
    assert not (root / "test/size.tandem-amp-probe.test.ts").exists()  # the probe is removed
    vitest = [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run"]
    ran = await sandbox.run([*vitest, outcome.written[0]], cwd=root, timeout_s=300)
    assert ran.returncode == 0, ran.output


YEAR_HEAD = """\
export function yearOf(text: string, fallback: number): number {
  const m = /\\s+(\\d+)$/.exec(text);
  if (!m) return fallback;
  if (m[1].length <= 3) return fallback;
  return Number(m[1]);
}
"""
YEAR_BASE = YEAR_HEAD.replace("  if (m[1].length <= 3) return fallback;\n", "")
# many numbers beside the one string: the change's own numbers once took every variant
YEAR_TEST = """\
import { expect, it } from "vitest";
import { yearOf } from "../src/year";

it("reads the year", () => {
  const ref = new Date(2016, 9, 1, 8, 30, 15, 500);
  expect(yearOf("Oct 26 2023", ref.getFullYear())).toBe(2023);
  expect(yearOf("Oct 26", 2016 + 0 * 7)).toBe(2016);
});
"""


@pytest.mark.slow
async def test_a_length_the_change_compares_reaches_a_tests_string(
    node: Node, tmp_path: Path
) -> None:
    """The change compares a length with 3; the test's year has 4 digits, and its many numbers
    took every variant with the change's own numbers. Its year cut to 3 digits tells base and
    head apart."""
    root = tmp_path / "pkg"
    files = vitest_ts_files({"src/year.ts": YEAR_BASE, "test/year.test.ts": YEAR_TEST})
    base_sha = base_then_head(root, files, {"src/year.ts": YEAR_HEAD})
    sandbox = LocalSandbox()
    await npm_install(sandbox, node, root)
    await javascript_runs.prepare_coverage(sandbox, root, ["src/year.ts"])
    changed = {"src/year.ts": {4}}
    baseline = await javascript_runs.run_suite(sandbox, root, changed, timeout_s=300)
    assert baseline.ok, baseline.describe()
    workspace = Workspace(
        sandbox, root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha, changed
    )
    outcome = await AmplifyJs().generate(workspace, [])
    assert outcome.written == ["test/year.tandem-amplified.test.ts"], outcome.notes
    text = (root / outcome.written[0]).read_text()
    assert 'expect(yearOf("Oct 26 202", ref.getFullYear())).toEqual(2016);' in text, text
    vitest = [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run"]
    ran = await sandbox.run([*vitest, outcome.written[0]], cwd=root, timeout_s=300)
    assert ran.returncode == 0, ran.output
