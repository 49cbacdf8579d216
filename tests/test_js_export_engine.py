"""The offline JS/TS engine (:mod:`jobs.languages.javascript.export_engine`): the calls it tries
and the tests it writes (pure), then real vitest and jest packages end to end: the scan with the
TypeScript compiler, the probe through the project's own runner, and a written test file that
the runner passes."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from itertools import islice
from pathlib import Path

import pytest

from jobs.languages.javascript.export_calls import (
    ExportedFunction,
    Param,
    Scan,
    array_edits,
    calls_for,
    case_edits,
    kind_values,
    object_edits,
    parse_scan,
    string_edits,
    string_value,
)
from jobs.languages.javascript.export_candidates import (
    MODULE,
    Candidate,
    Expression,
    Import,
    expression_candidates,
    function_candidates,
    import_lines,
    observed_arguments,
    other_kinds,
    parse_expressions,
)
from jobs.languages.javascript.export_engine import (
    SCANNER,
    SCANNER_PARTS,
    CharacterizeJs,
    differing,
    local_to_the_run,
    tandem_path,
)
from jobs.languages.javascript.export_probe import (
    RUNTIME,
    UNKNOWN,
    ProbeOutcome,
    probe_source,
    read_outcomes,
)
from jobs.languages.javascript.export_tests import (
    asserted,
    case_name,
    chosen,
    pruned,
    write_tests,
)
from jobs.languages.javascript.suite_layout import TestLayout as Layout
from jobs.languages.javascript.suite_layout import jest_globs, vitest_globs
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.languages.suite_run import TestFailure
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import SeedPlan
from jobs.testgen.targets import Target
from tests.js_support import base_then_head, node_or_skip, npm_install, vitest_ts_files

VITEST = Layout("vitest", vitest_globs(None, None), "tree", "test", "test", True, False, False, 1)
JEST_CJS = Layout("jest", jest_globs(None, None), "beside", "test", "test", False, True, False, 1)


def classify(**fields: object) -> ExportedFunction:
    base: dict[str, object] = {
        "name": "classify",
        "export": "name",
        "line": 1,
        "end": 5,
        "params": (Param("n", type="number"),),
    }
    return ExportedFunction(**{**base, **fields})  # type: ignore[arg-type]


def test_calls_start_from_the_projects_own_and_vary_them_with_the_changed_literals() -> None:
    function = classify(examples=(("3",),), calls=(("2",), ("3",)), literals=("10", '"big"'))
    assert calls_for(function) == [("3",), ("2",), ("10",), ("9",), ("11",)]


def test_a_long_table_of_the_projects_calls_leaves_room_for_their_variants() -> None:
    # a data-driven test of 40 rows: its own calls alone once filled every slot, and the
    # variants at the changed literal (where the base differs) were never tried
    rows = tuple((f'"p{n}"',) for n in range(40))
    calls = calls_for(classify(calls=rows, literals=('"/"',)), limit=60)
    assert len(calls) == 60
    assert calls[:30] == list(rows[:30])
    assert calls[30:33] == [('"/"',), ('"p0/"',), ('"p1/"',)]  # a variant of each row in turn
    assert rows[39] not in calls  # the project's own last rows are what its tests check


def test_a_function_nothing_calls_gets_values_of_its_annotated_types() -> None:
    function = classify(
        params=(Param("n", type="number"), Param("unit", optional=True, literal='"kb"')),
        literals=("10",),
    )
    calls = calls_for(function)
    assert calls[0] == ("10",) and ("9",) in calls and ("11",) in calls
    assert all(len(c) == 1 for c in calls)  # the optional parameter keeps its default
    two = classify(params=(Param("a", type="string"), Param("b", type="boolean")))
    assert ('""', "true") in calls_for(two) and ('""', "false") in calls_for(two)
    assert calls_for(classify(params=())) == [()]


def test_a_parameter_read_as_an_object_gets_the_tests_objects_and_their_pairings() -> None:
    # `distance(p, q)` reads `p.x`/`p.y`: the scan found two objects of that shape in the tests
    # and one with a changed-line number set; no number is tried (a type checker refuses it)
    objects = ("{ x: 1, y: 2 }", "{ x: 1, y: 721 }", "{ x: -3, y: 0 }")
    function = classify(
        params=(
            Param("p", type="Point", objects=objects),
            Param("q", type="Point", objects=objects),
        ),
        literals=("720",),
    )
    calls = calls_for(function)
    assert calls[0] == ("{ x: 1, y: 2 }", "{ x: 1, y: 2 }")
    assert ("{ x: -3, y: 0 }", "{ x: 1, y: 721 }") in calls  # every pairing
    assert len(calls) == len(set(calls)) == 9
    assert all(c.startswith("{") for call in calls for c in call)


def test_strings_are_edited_at_the_edges_of_a_changed_check() -> None:
    # `nextChar === "/"` changed: the argument with each "/" taken out, and "/" added at the ends
    edits = string_edits('"/base/a"', ('"/"', "10"))
    assert edits == ['"base/a"', '"/basea"', '"//base/a"', '"/base/a/"', '"/base//a"']
    # `charCodeAt(i + 1) !== CharCode.Pipe` changed: the one "|" doubled (css-what's `foo||bar`)
    assert '"foo||bar"' in string_edits('"foo|bar"', ('"|"',))
    # a check of a string's two ends (`s[0] === '"' && s.at(-1) === '"'`) is passed with the
    # changed literal just inside them
    inside = string_edits("'\"a\"'", (json.dumps("\\"),))[-2:]
    assert [json.loads(e) for e in inside] == ['"\\a"', '"a\\"']
    assert string_value("'it\\'s'") == "it's" and string_value("`${x}`") is None
    call = ('"/base/a"', '"/base"')
    assert ('"/basea"', '"/base"') in calls_for(classify(calls=(call,), literals=('"/"',)))


def test_a_string_argument_is_tried_in_lower_and_in_upper_case() -> None:
    # change-case: an acronym `U.N.` written `u.n.` is where sentence case parts from title case
    assert case_edits('"the U.N. and me"') == ['"the u.n. and me"', '"THE U.N. AND ME"']
    assert case_edits('"2018"') == [] and case_edits("{ a: 1 }") == []
    call = ('"the U.N. and me"', "{ sentence: true }")
    assert ('"the u.n. and me"', "{ sentence: true }") in calls_for(classify(calls=(call,)))


def test_a_changed_typeof_check_gives_arguments_of_its_kind() -> None:
    # path-to-regexp: `path instanceof TokenData` became `typeof path === "object"`
    compile_ = classify(calls=(('"/:id"',),), literals=('"object"',))
    calls = calls_for(compile_)
    assert {("{}",), ("[]",), ("null",)} <= set(calls)
    assert kind_values(('"undefined"', "3", '"text"')) == ["undefined"]


def test_the_calls_at_a_changed_checks_edge_are_varied_first() -> None:
    # destr: `s[0] === '"' && s.at(-1) === '"' && !s.includes("\\")`; of its tests' 40 calls,
    # the one that holds '"' gets the backslash put inside its quotes within the 90 calls
    calls = (*((json.dumps(f"word{n}"),) for n in range(40)), (json.dumps('"Hello"'),))
    function = classify(calls=calls, literals=(json.dumps("\\"), json.dumps('"')))
    assert (json.dumps('"\\Hello"'),) in calls_for(function)
    # an options parameter is given each property the function reads of it
    options = Param("options", optional=True, props=(("strict", "true"),))
    function = classify(calls=(('"a"',),), params=(Param("value"), options))
    assert ('"a"', "{ strict: true }") in calls_for(function)


def test_an_object_argument_gets_inherited_properties_and_the_functions_keys() -> None:
    literals = ('"__proto__"', '"a.b"', "1")  # only a name-like string is a key
    assert object_edits("{ a: 1 }", literals) == [
        "Object.create({ a: 1 })",
        '{ ...{ a: 1 }, ["__proto__"]: { a: 1 } }',
    ]
    assert object_edits('"s"', literals) == []


def test_an_array_argument_under_a_type_assertion_is_left_as_it_is() -> None:
    # `[0, 100] as SixtyRange[]` is no array literal: cut at its commas it did not parse
    assert array_edits("[0, 100] as SixtyRange[]") == []
    assert array_edits("[0, 100]") == ["[0]", "[100]"]


def test_an_array_argument_gets_an_element_at_a_time_left_out() -> None:
    # citty's parseRawArgs(["--name", "John"], { string: ["name"] }): an option given no value
    assert array_edits('["--name", "John", [1, "a,b"]]') == [
        '["--name", "John"]',
        '["--name", [1, "a,b"]]',
        '["John", [1, "a,b"]]',
    ]
    assert array_edits('["x"]') == [] and array_edits("[a, ") == [] and array_edits('"[]"') == []
    argv = classify(calls=(('["--name", "John"]', '{ string: ["name"] }'),), params=())
    assert ('["--name"]', '{ string: ["name"] }') in calls_for(argv)


def test_an_object_the_call_gives_keeps_its_properties_and_gets_the_one_it_lacks() -> None:
    options = Param("opts", optional=True, props=(("string", "true"), ("boolean", "true")))
    function = classify(calls=(('["-a"]', "{ boolean: [] }"),), params=(Param("argv"), options))
    calls = calls_for(function)
    assert ('["-a"]', "{ ...{ boolean: [] }, string: true }") in calls
    assert not any("boolean: true" in c[1] for c in calls)  # the call gives that one itself


def test_the_calls_that_behave_differently_on_the_base_are_written_first() -> None:
    head = [
        ProbeOutcome("f", 0, "value", source="1"),
        ProbeOutcome("f", 1, "value", source="1"),
        ProbeOutcome("f", 2, "value", source="2"),
        ProbeOutcome("f", 3, "unstable"),
    ]
    base = [
        ProbeOutcome("f", 0, "value", source="1"),
        ProbeOutcome("f", 1, "throws", error="TypeError", message="f is not a function"),
        ProbeOutcome("f", 2, "value", source="2"),
        ProbeOutcome("f", 3, "value", source="5"),
    ]
    assert differing(head, base) == {("f", 1)}
    order = [o.index for o in chosen(head[:3], {("f", 1)})]
    assert order == [1, 2, 0]  # the difference, a behaviour not shown yet, then the rest
    assert [o.index for o in chosen(head[:3], set(), limit=2)] == [0, 2]


def test_the_base_commit_answers_only_for_what_a_test_could_assert() -> None:
    head = [
        ProbeOutcome("f", 0, "value", source="1"),
        ProbeOutcome("f", 1, "opaque"),
        ProbeOutcome("f", 2, "throws", error="Error", message="no"),
        ProbeOutcome("f", 3, "slow"),
        ProbeOutcome("f", 4, "cut"),
        ProbeOutcome("f", 5, "value", source="2"),
    ]
    assert asserted(head) == {0, 2, 5}
    tried = function_candidates(classify(calls=tuple((str(n),) for n in range(6))), "src/s.ts")
    text = probe_source(JEST_CJS, "", tried, "/w/out.json", asserted(head), budget_ms=1000)
    assert '__tandemTry("classify", 0,' in text and '__tandemTry("classify", 5,' in text
    assert '__tandemTry("classify", 1,' not in text and "__TANDEM_BUDGET_MS = 1000;" in text
    # what the probe did not find out on one side is no difference
    for kind in UNKNOWN:
        assert not differing(head[:1], [ProbeOutcome("f", 0, kind)])
        assert not differing([ProbeOutcome("f", 0, kind)], head[:1])


def test_a_malformed_scan_is_left_out_rather_than_raised() -> None:
    assert parse_scan([]).problems == ["the export scan printed no object"]
    scan = parse_scan({"functions": [{"name": 3}, "x", {"name": "f", "params": ["bad"]}]})
    assert [f.name for f in scan.functions] == ["f"] and scan.functions[0].params == ()


def test_the_probe_imports_the_module_as_the_packages_tests_do() -> None:
    tried = function_candidates(classify(calls=(("10",), ("-1",))), "src/size.ts")
    module = [Import(MODULE, "src/size.ts", "namespace")]
    esm = probe_source(
        VITEST,
        import_lines(VITEST, "test/size.p.test.ts", "src/size.ts", module) or "",
        tried,
        "/w/out.json",
    )
    assert 'import * as __tandemModule from "../src/size";' in esm
    assert 'import { describe, expect, it } from "vitest";' in esm
    assert '__tandemModule["classify"](10)' in esm and '__tandemModule["classify"](-1)' in esm
    lines = import_lines(JEST_CJS, "src/size.p.test.ts", "src/size.ts", module) or ""
    cjs = probe_source(JEST_CJS, lines, tried, "/w/out.json")
    assert 'const __tandemModule = require("./size");' in cjs and "vitest" not in cjs
    assert read_outcomes("nope").startswith("the probe's outcomes are not JSON")


def test_tests_assert_what_the_head_did_and_skip_what_they_cannot_say() -> None:
    calls = tuple((str(n),) for n in (10, -1, 0, 1, 2, 3))
    tried = function_candidates(classify(calls=calls), "src/size.ts")
    outcomes = [
        ProbeOutcome("classify", 0, "value", source='"big"'),
        ProbeOutcome("classify", 1, "throws", error="RangeError", message="negative: -1"),
        ProbeOutcome("classify", 2, "value", source="0", awaited=True),
        ProbeOutcome("classify", 3, "rejects", error="Error", message=""),
        ProbeOutcome("classify", 4, "opaque"),
        ProbeOutcome("classify", 5, "unstable"),
        ProbeOutcome("classify", 99, "value", source="1"),  # no such call: ignored
    ]
    written = write_tests(VITEST, ("test/size.tandem.test.ts", "src/size.ts"), tried, outcomes)
    assert written.text is not None and written.tests == 4
    assert written.skipped == {"opaque": 1, "unstable": 1}
    assert 'expect(classify(10)).toEqual("big");' in written.text
    assert 'expect(() => classify(-1)).toThrow("negative: -1");' in written.text
    assert "await expect(classify(0)).resolves.toEqual(0);" in written.text
    assert "await expect(classify(1)).rejects.toThrow();" in written.text
    assert 'import { classify } from "../src/size";' in written.text
    assert "@ts-nocheck" not in written.text  # vitest does not type-check
    # ts-jest would refuse the whole file for one call of a kind its type does not allow
    jest_ts = Layout("jest", jest_globs(None, None), "tree", "test", "test", True, True, False, 1)
    checked = write_tests(jest_ts, ("test/size.tandem.test.ts", "src/size.ts"), tried, outcomes)
    assert checked.text is not None and checked.text.startswith("// @ts-nocheck\n")
    default = function_candidates(
        classify(name="size", export="default", calls=(("1",),)), "src/size.js"
    )
    outcome = [ProbeOutcome("size", 0, "value", source="1")]
    cjs = write_tests(JEST_CJS, ("src/size.tandem.test.js", "src/size.js"), default, outcome)
    assert cjs.text is None and cjs.skipped == {"imports CommonJS cannot say": 1}


def test_a_throw_keeps_its_setup_inside_and_a_path_of_the_run_is_not_asserted() -> None:
    # the probe ran the setup inside the call: `program.hook(", ", …)` throws before parse
    hooked = Candidate("parse", "p.parse()", "p.parse()", 'const p = new C();\np.hook(", ");')
    argv = Candidate("parse", "q.parse()", "q.parse()", "const q = new C();")
    outcomes = [
        ProbeOutcome("parse", 0, "throws", error="Error", message="bad event"),
        ProbeOutcome("parse", 1, "json", source='"{\\"argv\\":[\\"/w/run/jest.js\\"]}"'),
    ]
    outcomes = local_to_the_run(outcomes, ["/w/run"])
    assert [o.kind for o in outcomes] == ["throws", "local"]
    written = write_tests(JEST_CJS, ("lib/c.tandem.test.js", "lib/c.js"), [hooked, argv], outcomes)
    assert written.text is not None and written.skipped == {"local": 1}
    inside = 'expect(() => {\n      const p = new C();\n      p.hook(", ");\n      return p.parse'
    assert inside in written.text and '}).toThrow("bad event");' in written.text


def test_a_failing_test_is_pruned_from_the_file_and_the_others_stay() -> None:
    tried = function_candidates(classify(calls=(("1",), ("2",)), name="size"), "lib/size.js")
    outcomes = [ProbeOutcome("size", i, "value", source=str(i)) for i in range(2)]
    text = write_tests(JEST_CJS, ("lib/size.tandem.test.js", "lib/size.js"), tried, outcomes).text
    assert text is not None
    left = pruned(text, {"size > size with 1"})
    assert left is not None and "size(2)" in left and "size(1)" not in left
    assert left.count("describe(") == 1 and left.endswith("});\n")
    # every test failing leaves nothing; a name the file has no such test of is another's file
    assert pruned(text, {"size > size with 1", "size > size with 2"}) is None
    assert pruned(text, {"other > x"}) is None
    # how validation names a JS failure it may prune: the test file, then "describe > title"
    failure = TestFailure("lib/size.tandem.test.js", "size > size with 1", "")
    assert failure.function_in("lib/size.tandem.test.js") == "size > size with 1"
    assert TestFailure("tests.test_x", "test_a", "").function_in("tests/test_x.py") == "test_a"


SETUP = 'const i = DateTime.fromISO("2016-05-25").until(DateTime.fromISO("2016-05-26"));'


def test_an_expression_of_the_tests_is_varied_with_the_groups_own_literals() -> None:
    scan = [
        {
            "group": "count",
            "test": "/p/test/info.test.js",
            "text": 'i.count("days")',
            "setup": SETUP,
            "imports": [
                {
                    "name": "DateTime",
                    "spec": "../src/luxon",
                    "kind": "named",
                    "imported": "DateTime",
                }
            ],
            "literals": [
                {"part": "setup", "start": 27, "end": 39, "text": '"2016-05-25"'},
                {"part": "text", "start": 8, "end": 14, "text": '"days"'},
            ],
        },
        {
            "group": "count",
            "test": "/p/test/info.test.js",
            "text": 'j.count("years")',
            "setup": "",
            "imports": [],
            "literals": [{"part": "text", "start": 8, "end": 15, "text": '"years"'}],
        },
    ]
    expressions = parse_expressions(scan, "/p")
    assert (
        expressions[0].imports[0].module == "src/luxon"
        and expressions[0].test == "test/info.test.js"
    )
    found = expression_candidates(expressions, {"count": ("1",)})
    texts = [(c.setup[27:39], c.expression) for c in found]
    # the tests' own expressions first, then their variants
    assert texts[:2] == [('"2016-05-25"', 'i.count("days")'), ("", 'j.count("years")')]
    assert ('"2016-05-25"', 'i.count("years")') in texts  # the other expression's unit
    assert any(c.expression == 'j.count("days")' for c in found)
    lines = import_lines(VITEST, "test/x.test.js", "src/interval.js", list(found[0].imports))
    assert lines == 'import { DateTime } from "../src/luxon";\n'
    clash = [
        Import("DateTime", "src/luxon", "named", "DateTime"),
        Import("DateTime", "src/other", "named", "DateTime"),
    ]
    assert import_lines(VITEST, "test/x.test.js", "src/a.js", clash) is None


def test_each_literal_of_an_expression_gets_a_different_kind_first() -> None:
    # commander: `new Option("-a", "description").default(true)`; the flags took every slot,
    # and the description left out (where the change is) was never tried
    setup = 'const option = new Option("-a", "description").default(true);'
    spans = [
        {"part": "setup", "start": m.start(), "end": m.end(), "text": m.group()}
        for m in re.finditer(r'"-a"|"description"|true', setup)
    ]
    scan = [
        {
            "group": "optionDescription",
            "test": "/p/tests/help.test.js",
            "text": "new Help().optionDescription(option)",
            "setup": setup,
            "imports": [],
            "literals": spans,
        }
    ]
    expression = parse_expressions(scan, "/p")[0]
    setups = [e.setup for e in islice(other_kinds(expression), 4)]
    assert setups == [
        'const option = new Option({}, "description").default(true);',
        'const option = new Option("-a", undefined).default(true);',
        'const option = new Option("-a", "description").default(null);',
        'const option = new Option(undefined, "description").default(true);',
    ]
    assert len(list(other_kinds(expression))) == 12  # every literal, every kind


def test_the_projects_calls_are_recombined_an_argument_at_a_time() -> None:
    # defu(a, b) of one test with the defaults of another, and an option bag one call passes
    calls = (("{ a: 1 }", "{ b: 2 }"), ("{ c: null }", "{ d: [] }"), ('"x"',))
    tried = calls_for(classify(calls=calls, params=()))
    assert ("{ a: 1 }", "{ d: [] }") in tried and ("{ c: null }", "{ b: 2 }") in tried
    assert ('"x"', "{ b: 2 }") in tried  # the second argument the first call lacked
    assert len(tried) == len(set(tried))


def expression(text: str, call: tuple[str, list[str]], helpers: list[str]) -> dict[str, object]:
    return {
        "group": "toISO",
        "test": "/p/test/a.test.js",
        "text": text,
        "setup": "\n".join(helpers),
        "helpers": helpers,
        "call": {"callee": call[0], "args": call[1]},
        "imports": [{"name": "DateTime", "spec": "../src/luxon", "kind": "named"}],
        "literals": [],
    }


def test_a_receiver_of_one_test_meets_the_options_of_another() -> None:
    # luxon: `offsetted.toISO()` and `dt.toISO({ format: "basic" })` are two tests; the change
    # shows only for an offset in the basic format
    offsetted = "const offsetted = DateTime.fromISO('2016-05-25T03:00-06:00');"
    dt = "const dt = DateTime.utc(1982);"
    other_dt = "const dt = DateTime.local(1982);"  # a helper of the same name, elsewhere
    scan = [
        expression("offsetted.toISO()", ("offsetted.toISO", []), [offsetted]),
        expression('dt.toISO({ format: "basic" })', ("dt.toISO", ['{ format: "basic" }']), [dt]),
        expression("dt.toISO({ x: 1 })", ("dt.toISO", ["{ x: 1 }"]), [other_dt]),
    ]
    found = expression_candidates(parse_expressions(scan, "/p"), {})
    mixed = {(c.setup, c.expression) for c in found[3:]}
    assert (f"{offsetted}\n{dt}", 'offsetted.toISO({ format: "basic" })') in mixed
    # two helpers of one name would declare it twice: never put together
    assert all(dt not in c.setup or other_dt not in c.setup for c in found)


def test_a_tests_call_of_a_changed_function_imports_it_from_its_own_module() -> None:
    item = {
        "group": "serialize",
        "test": "/p/test/s.test.ts",
        "text": "serialize(new Map([[{ a: 1 }, 2]]))",
        "setup": "",
        "imports": [
            {"name": "serialize", "spec": "../src", "kind": "named", "imported": "serialize"}
        ],
        "literals": [],
    }
    own = {"serialize": Import("serialize", "src/serialize.ts", "named", "serialize")}
    (found,) = expression_candidates(parse_expressions([item], "/p"), {}, own)
    assert found.imports == (own["serialize"],)


def test_test_names_are_plain_and_unique() -> None:
    taken: set[str] = set()
    assert case_name("f", '"a(b)", [1, 2]', taken) == "f with a b , 1, 2"
    assert case_name("f", '"a(b)", [1, 2]', taken) == "f with a b , 1, 2 2"
    assert case_name("f", '"", "/x"', taken) == "f with empty string, x"
    assert case_name("f", "", taken) == "f with no arguments"
    assert tandem_path("test/size.test.ts", "tandem") == "test/size.tandem.test.ts"


# --- real packages ------------------------------------------------------------------------

SIZE_TS = """\
/**
 * Classify a size.
 * @example
 * classify(3) // "small"
 */
export function classify(n: number, unit = "kb"): string {
  if (n < 0) {
    throw new RangeError(`negative: ${n}`);
  }
  if (n >= 10) {
    return "big " + unit;
  }
  return "small";
}

export async function later(n: number): Promise<number> {
  return n * 2;
}

export class Box { constructor(public n: number) {} }
export class Meter {
  constructor(private limit: number) {}
  over(n: number): boolean {
    return n >= this.limit;
  }
}
export const boxed = (n: number): Box => new Box(n);
export const noisy = (n: number): number => n + Math.random();
export const tagged = (n: number) => ({ n, [Symbol.for("tag")]: true });
export function label(s: string): string {
  return s.trim().toUpperCase();
}
"""
# The base commit: the edge was `n > 10`, and `later` did not exist yet
BASE_TS = re.sub(r"export async function later.*?\n}\n", "", SIZE_TS, flags=re.S)
BASE_TS = BASE_TS.replace("n >= 10", "n > 10").replace("n >= this.limit", "n > this.limit")
TABLE_TEST = """\
import { it, expect } from "vitest";
import { classify } from "../src/size";

const rows = [{ n: 40, want: "big kb" }];
for (const row of rows) {
  it(`row ${row.n}`, () => { expect(classify(row.n)).toBe(row.want); });
}
it.each([[30, "big kb"]])("each %s", (n, want) => { expect(classify(n)).toBe(want); });

import { Meter } from "../src/size";
const meter = (limit: number) => new Meter(limit);
it("a meter", () => { expect(meter(5).over(7)).toBe(true); });

import { label } from "../src/size";
const labels = { " a ": "A" };
for (const text in labels) {
  it(text, () => { expect(label(text)).toBe(labels[text]); });
}
for (const [text, want] of Object.entries({ " b ": "B" })) {
  it(text, () => { expect(label(text)).toBe(want); });
}
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


def workspace(root: Path, base_sha: str | None = None) -> Workspace:
    return Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )


async def run_runner(node: Node, root: Path, *args: str) -> tuple[int, str]:
    result = await LocalSandbox().run(
        [*env_prefix(), str(node.path), *args], cwd=root, timeout_s=300
    )
    return result.returncode, result.output


async def scan_of(
    node: Node,
    root: Path,
    source: tuple[str, str],
    changed: list[int],
    test: tuple[str, str],
    base: str | None = None,
    typescript: str = "5.6.3",
) -> Scan:
    """The scanner's findings on a package of one source and one test file (each a path and
    its text), read as the engine reads them: from the file the request names; ``base``: the
    base commit's version of the source."""
    for path, text in (source, test):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "package.json").write_text('{"name": "j", "private": true}')
    await npm_install(LocalSandbox(), node, root, f"typescript@{typescript}")
    for part in SCANNER_PARTS:
        (root / part.name).write_text(part.read_text())
    out = root / "scan-out.json"
    request = {
        "typescript": str(root / "node_modules/typescript"),
        "source": str(root / source[0]),
        "changed": changed,
        "tests": [str(root / test[0])],
        "out": str(out),
    }
    if base is not None:
        (root / "base.ts").write_text(base)
        request["base"] = str(root / "base.ts")
    (root / "request.json").write_text(json.dumps(request))
    code, output = await run_runner(node, root, str(root / SCANNER.name), "request.json")
    assert code == 0, output
    return parse_scan(json.loads(out.read_text()))


async def test_a_typescript_vitest_package_gets_tests_its_runner_passes(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    (root / "src").mkdir(parents=True)
    (root / "test").mkdir()
    files = vitest_ts_files(
        {
            "src/size.ts": BASE_TS,
            "test/size.test.ts": TABLE_TEST,
        }
    )
    base_sha = base_then_head(root, files, {"src/size.ts": SIZE_TS})
    await npm_install(LocalSandbox(), node, root)
    marks = (
        "throw new",
        'return "big',
        "return n * 2",
        "boxed =",
        "noisy =",
        "n >= this",
        "trim()",
    )
    changed = [n for n, line in enumerate(SIZE_TS.splitlines(), 1) if any(m in line for m in marks)]
    targets = [Target("src/size.ts", changed, [])]
    outcome = await CharacterizeJs().generate(workspace(root, base_sha), targets)
    assert outcome.written == ["test/size.tandem.test.ts"], outcome.notes
    text = (root / "test/size.tandem.test.ts").read_text()
    # the example's edge, varied, behaves differently on the base: its test comes first
    first = text.split("it(")[1]
    assert 'expect(classify(10)).toEqual("big kb");' in first
    # classify(10), every call of `later`, which the base commit lacks, and a meter at its edge
    differ = re.search(r"(\d+) of them on inputs that behave differently", outcome.notes[0])
    assert differ and int(differ[1]) >= 2 + text.count("later(")
    # the rows of the data-driven tests are inputs too: arrays, it.each, an object's keys
    assert "classify(40)" in text and "classify(30)" in text
    assert 'expect(label(" a ")).toEqual("A");' in text
    assert 'expect(label(" b ")).toEqual("B");' in text
    # a changed method, from how the project's test builds its object, at the new edge
    assert 'describe("over"' in text
    assert "const meter = (limit: number) => new Meter(limit);" in text
    assert "expect(meter(5).over(5)).toEqual(true);" in text
    assert 'expect(() => classify(-1)).toThrow("negative: -1");' in text
    assert "await expect(later(" in text and ".resolves.toEqual(" in text
    # a class instance as its own fields, which toEqual compares without the class
    assert 'expect(boxed(0)).toEqual({"n": 0});' in text
    # unstable
    assert "tagged(" not in text and "noisy(" not in text
    assert "not asserted:" in outcome.notes[0] and "unstable" in outcome.notes[0]
    assert not (root / "test/size.tandem-probe.test.ts").exists()  # the probe is removed
    code, output = await run_runner(
        node, root, "node_modules/vitest/vitest.mjs", "run", "test/size.tandem.test.ts"
    )
    assert code == 0, output


async def test_a_commonjs_jest_package_gets_required_tests(node: Node, tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "lib").mkdir(parents=True)
    manifest = {
        "name": "pkg",
        "private": True,
        "scripts": {"test": "jest"},
        "devDependencies": {"jest": "30.2.0"},
    }
    (root / "package.json").write_text(json.dumps(manifest))
    (root / "lib/slug.js").write_text(
        "function slug(text) {\n  return text.trim().toLowerCase().replace(/\\s+/g, '-');\n}\n"
        "module.exports = { slug };\n"
    )
    (root / "lib/slug.test.js").write_text(
        "const { slug } = require('./slug');\n"
        "test('slug', () => { expect(slug(' A b ')).toBe('a-b'); });\n"
    )
    await npm_install(LocalSandbox(), node, root)
    outcome = await CharacterizeJs().generate(workspace(root), [Target("lib/slug.js", [2], [])])
    assert outcome.written == ["lib/slug.tandem.test.js"], outcome.notes
    text = (root / "lib/slug.tandem.test.js").read_text()
    assert text.startswith('const { slug } = require("./slug");')
    assert """expect(slug(' A b ')).toEqual("a-b");""" in text
    code, output = await run_runner(
        node, root, "node_modules/jest/bin/jest.js", "--ci", "lib/slug.tandem.test.js"
    )
    assert code == 0, output


STAMP_BASE_TS = """\
function pad(n: number, sep: boolean): string {
  if (n < 0) return "-:" + String(-n);
  return "+:" + String(n);
}
export class Stamp {
  constructor(public offset: number) {}
  format(opts: { basic?: boolean } = {}): string {
    return "T" + pad(this.offset, !opts.basic);
  }
}
export function total(items: Map<string, number>): number {
  let sum = 0;
  for (const [, v] of items) sum += v;
  return sum;
}
"""
STAMP_TS = STAMP_BASE_TS.replace(
    'return "-:" + String(-n);', 'return "-" + (sep ? ":" : "") + String(-n);'
).replace("sum += v;", "sum += Math.max(v, 0);")
# Each test alone passes on the base: only a receiver of one with the options of another, or a
# value of the Map varied, shows the change
STAMP_TEST = """\
import { expect, test } from "vitest";
import { Stamp, total } from "../src/stamp";

test("utc", () => {
  const utc = new Stamp(0);
  expect(utc.format({ basic: true })).toBe("T+:0");
});

test("west", () => {
  const west = new Stamp(-5);
  expect(west.format()).toBe("T-:5");
});

test("total", () => {
  expect(total(new Map([["a", 1], ["b", 2]]))).toBe(3);
});
"""


async def test_inputs_no_literal_holds_come_from_the_tests_own_expressions(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    files = vitest_ts_files({"src/stamp.ts": STAMP_BASE_TS, "test/stamp.test.ts": STAMP_TEST})
    base_sha = base_then_head(root, files, {"src/stamp.ts": STAMP_TS})
    await npm_install(LocalSandbox(), node, root)
    changed = [
        n for n, line in enumerate(STAMP_TS.splitlines(), 1) if "sep ?" in line or "max" in line
    ]
    targets = [Target("src/stamp.ts", changed, [])]

    outcome = await CharacterizeJs().generate(workspace(root, base_sha), targets)

    assert outcome.written == ["test/stamp.tandem.test.ts"], outcome.notes
    text = (root / "test/stamp.tandem.test.ts").read_text()
    # a member that reaches the changed module function, with one test's receiver and the
    # other's options; a Map no literal call gives, with its value at the changed edge
    assert 'expect(west.format({ basic: true })).toEqual("T-5");' in text
    assert 'expect(total(new Map([["a", -1], ["b", 2]]))).toEqual(2);' in text
    assert text.count('from "../src/stamp";') == 1, text  # one import of the two names
    differ = re.search(r"(\d+) of them on inputs that behave differently", outcome.notes[0])
    assert differ and int(differ[1]) >= 2
    code, output = await run_runner(
        node, root, "node_modules/vitest/vitest.mjs", "run", "test/stamp.tandem.test.ts"
    )
    assert code == 0, output


JOIN_TS = """\
export function join(...parts: string[]): string {
  return parts.filter(Boolean).join("/");
}
"""
# A table that spreads another in, and calls that spread a row's array into the arguments
JOIN_TABLE_TEST = """\
import { expect, test } from "vitest";
import { join } from "../src/join";

const simple = [
  { input: ["a"], out: "a" },
  { input: ["a", "b"], out: "a/b" },
] as const;
const more = [...simple, { input: ["", "c"], out: "c" }];

for (const t of more) {
  test(String(t.input), () => {
    expect(join(...(t.input as string[]))).toBe(t.out);
  });
}
"""


async def test_rows_spread_into_a_table_and_into_a_call_are_the_calls_literals(
    node: Node, tmp_path: Path
) -> None:
    scan = await scan_of(
        node, tmp_path, ("src/join.ts", JOIN_TS), [2], ("test/join.test.ts", JOIN_TABLE_TEST)
    )

    (join,) = scan.functions
    assert set(join.calls) == {('"a"',), ('"a"', '"b"'), ('""', '"c"')}


TITLE_TS = """\
export function title(input: string, options: { sentence?: boolean } | string = {}): string {
  const { sentence = false, locale } = typeof options === "string" ? { locale: options } : options;
  return input
    .split(" ")
    .map((w, i) => (i > 0 && sentence ? w : w.toLocaleUpperCase(locale)))
    .join(" ");
}
"""
# a table of a hundred rows whose third column only a few give, the last of them
TITLE_TABLE_TEST = (
    """\
import { it, expect } from "vitest";
import { title } from "../src/title";

const CASES: [string, string, { sentence?: boolean }?][] = [
"""
    + "".join(f'  ["w{n}", "W{n}"],\n' for n in range(100))
    + """\
  ["a b", "A b", { sentence: true }],
];

for (const [input, expected, options] of CASES) {
  it(input, () => {
    expect(title(input, options)).toBe(expected);
  });
}
"""
)


async def test_a_tables_rows_without_a_column_and_its_rare_shapes_are_calls(
    node: Node, tmp_path: Path
) -> None:
    scan = await scan_of(
        node, tmp_path, ("src/title.ts", TITLE_TS), [5], ("test/title.test.ts", TITLE_TABLE_TEST)
    )
    (title,) = scan.functions
    # a row that leaves the options out calls with undefined there, as the loop does
    assert title.calls[0] == ('"w0"', "undefined")
    # the one row that gives them comes among the first, past the rows of the common shape
    assert title.calls[1] == ('"a b"', "{ sentence: true }")
    assert len(title.calls) == 48
    # the options it destructures: the flag the changed line reads first, set the other way
    assert title.params[1].props[0] == ("sentence", "true")
    assert ("locale", "true") in title.params[1].props


async def test_a_typescript_before_4_9_reads_the_source_too(node: Node, tmp_path: Path) -> None:
    """css-what's own TypeScript is 4.5: no ts.getModifiers (4.8), no satisfies (4.9)."""
    scan = await scan_of(
        node,
        tmp_path,
        ("src/join.ts", JOIN_TS),
        [2],
        ("test/join.test.ts", JOIN_TABLE_TEST),
        typescript="4.5.4",
    )

    assert scan.problems == []
    (join,) = scan.functions
    assert set(join.calls) == {('"a"',), ('"a"', '"b"'), ('""', '"c"')}


SEL_TS = """\
const enum Code { Pipe = 124 }
export function split(s: string): string[] {
  if (s.charCodeAt(1) === Code.Pipe) {
    return [s];
  }
  return s.split("/");
}
"""
SEL_TEST = """\
import { split } from "../src/sel";
import { rows } from "./fixtures/rows";

for (const [input, expected] of rows) {
  test(input, () => {
    expect(split(input)).toEqual(expected);
  });
}
"""
# the table's rows hold what is no literal beside the input: the input is still taken
SEL_ROWS = """\
import { Kind } from "../../src/kind";
export const rows: [string, unknown][] = [
  ["a|b", [{ kind: Kind.Tag }]],
  ["c", ["c"]],
];
"""


async def test_a_table_imported_from_a_module_of_the_tests_gives_calls(
    node: Node, tmp_path: Path
) -> None:
    """css-what's tests run `parse` over `tests` from `./__fixtures__/tests`, whose rows hold
    enum members beside the selector; its change compares `charCodeAt` with `CharCode.Pipe`."""
    (tmp_path / "test/fixtures").mkdir(parents=True)
    (tmp_path / "test/fixtures/rows.ts").write_text(SEL_ROWS)

    scan = await scan_of(
        node, tmp_path, ("src/sel.ts", SEL_TS), [3], ("test/sel.test.ts", SEL_TEST)
    )

    (split,) = scan.functions
    assert set(split.calls) == {('"a|b"',), ('"c"',)}
    # the enum member on the changed line, and the character it stands for there
    assert split.literals[:3] == ("1", "124", '"|"')


SPLIT_TEST = """\
import { Interval } from "../src/interval";
const at = (h) => Interval.at(h);
test("splitAt", () => {
  const split = at(8).splitAt(at(11), at(9));
  expect(split.length).toBe(3);
  const filled = at(1);
  filled.add("z", 2);
  filled.limit = 2;
  expect(filled.splitAt(at(3))).toEqual([]);
});
"""


async def test_a_value_a_test_binds_to_a_call_of_a_changed_member_is_an_expression(
    node: Node, tmp_path: Path
) -> None:
    """luxon's splitAt tests check `split.length` and `split[0]` of `const split = …splitAt(…)`:
    the call is what reaches the change."""
    source = "export class Interval {\n  splitAt(...d) {\n    return d.sort();\n  }\n}\n"

    scan = await scan_of(
        node, tmp_path, ("src/interval.js", source), [3], ("test/many.test.js", SPLIT_TEST)
    )

    texts = {(e["text"], e["setup"]) for e in scan.expressions}
    helper = "const at = (h) => Interval.at(h);"
    # `split.length` names no member; a value the test fills is filled as the test does
    filled = 'const filled = at(1);\nfilled.add("z", 2);\nfilled.limit = 2;'
    assert texts == {
        ("at(8).splitAt(at(11), at(9))", helper),
        ("filled.splitAt(at(3))", f"{helper}\n{filled}"),
    }
    parsed = parse_expressions(scan.expressions, str(tmp_path))
    variants = expression_candidates(parsed, {})
    assert any("filled.add(undefined, 2);" in c.setup for c in variants)  # another kind
    filled_expression = next(e for e in parsed if e.text.startswith("filled"))
    # and, among its other kinds, an object key for the Map the test fills with string keys
    assert any("filled.add({}, 2);" in e.setup for e in other_kinds(filled_expression))


CLI_JS = """export class Command {
  strict() { this.isStrict = true; return this; }
  name(n) { this.n = n; return this; }
  action(f) { this.f = f; return this; }
  parse(argv) { this._run(argv); return this; }
  _run(argv) { if (this.isStrict) this._excess(argv); if (this.f) this.f(argv[0]); }
  _excess(argv) {
    throw new Error(`too many: ${argv.join(", ")}`);
  }
}
"""

CLI_TEST = """import { Command } from "../src/cmd";
let seen;
it("excess", () => {
  const program = new Command();
  program.strict().name("x");
  try {
    program.parse(["a", "b"]);
  } catch (err) { seen = err; }
  expect(seen.message).toBe("too many: a, b");
});
it("keeps what the action saw", () => {
  let got = "none";
  const program = new Command();
  program.action((a) => { got = a; });
  expect(program.parse(["a"])).toBe(program);
});
"""


async def test_a_changed_inner_member_is_reached_through_the_calls_its_tests_make(
    node: Node, tmp_path: Path
) -> None:
    """commander's `_excessArguments` is reached through `parse`, in a `try` whose error the test
    then checks, on a program built by a chain of calls (`program.exitOverride().…`)."""
    scan = await scan_of(
        node, tmp_path, ("src/cmd.js", CLI_JS), [8], ("test/cmd.test.js", CLI_TEST)
    )
    assert {"_excess", "_run", "parse"} <= set(scan.members)
    texts = {(e["text"], e["setup"]) for e in scan.expressions}
    built = 'const program = new Command();\nprogram.strict().name("x");'
    assert ('program.parse(["a", "b"])', built) in texts
    # a step that writes a local of the test (`got = a`) is left out, never written as
    # `"none" = a`, which would not parse
    assert ('program.parse(["a"])', "const program = new Command();") in texts


async def test_the_test_files_that_name_the_change_are_read_first(
    node: Node, tmp_path: Path
) -> None:
    """At most 40 expressions a member: commander's exit tests, which check the changed
    message's code, came after many files that only pass by `parse`."""
    plain = 'import { Command } from "../src/cmd";\nit("a", () => {\n'
    plain += "  const program = new Command();\n  program.parse([]);\n});\n"
    coded = CLI_JS.replace("throw new Error(", 'throw Object.assign({ code: "cmd.excess" }, ')
    await scan_of(node, tmp_path, ("src/cmd.js", coded), [8], ("test/a.test.js", plain))
    checks_code = CLI_TEST.replace("seen.message", "seen.code").replace(
        '"too many: a, b"', '"cmd.excess"'
    )
    (tmp_path / "test/b.test.js").write_text(checks_code)
    request = json.loads((tmp_path / "request.json").read_text())
    request["tests"] = [str(tmp_path / "test/a.test.js"), str(tmp_path / "test/b.test.js")]
    (tmp_path / "request.json").write_text(json.dumps(request))
    code, output = await run_runner(node, tmp_path, str(tmp_path / SCANNER.name), "request.json")
    assert code == 0, output
    found = json.loads((tmp_path / "scan-out.json").read_text())["expressions"]
    assert found[0]["test"].endswith("b.test.js") and found[-1]["test"].endswith("a.test.js")


async def test_a_call_that_would_end_the_process_is_an_outcome_of_its_own(
    node: Node, tmp_path: Path
) -> None:
    """A CLI's `process.exit` on an error would end the probe and every call after it."""
    script = tmp_path / "exits.cjs"
    script.write_text(
        RUNTIME.replace("__TANDEM_MAX_SOURCE", "2000")
        + """
const before = process.exit;
__tandemOutcome(() => { process.exit(3); }).then((found) =>
  console.log(JSON.stringify([found, process.exit === before])));
"""
    )
    code, output = await run_runner(node, tmp_path, str(script))
    assert code == 0, output
    assert json.loads(output) == [{"kind": "exits"}, True]


async def test_a_value_with_no_source_form_is_compared_as_its_json(
    node: Node, tmp_path: Path
) -> None:
    script = tmp_path / "json.cjs"
    script.write_text(
        RUNTIME.replace("__TANDEM_MAX_SOURCE", "2000")
        + """
class Stamp { constructor(t) { this.t = t; this.zone = new Intl.Locale("en"); }
  toJSON() { return `T${this.t}`; } }
class Bare { constructor() { this.f = () => 1; } }
Promise.all([[new Stamp(1), new Stamp(2)], new Bare()].map((v) => __tandemOutcome(() => v)))
  .then((found) => console.log(JSON.stringify(found)));
"""
    )
    code, output = await run_runner(node, tmp_path, str(script))
    assert code == 0, output
    stamps, bare = json.loads(output)
    assert stamps == {"kind": "json", "source": json.dumps('["T1","T2"]')}
    assert bare == {"kind": "opaque", "awaited": False}  # "{}" says nothing
    assert "toEqual(" in write_tests(
        VITEST, ("test/s.tandem.test.ts", "src/s.ts"),
        [function_candidates(classify(calls=(("1",),)), "src/s.ts")[0]],
        [ProbeOutcome("classify", 0, "json", source=stamps["source"])],
    ).text.split("JSON.stringify(classify(1))")[1]  # fmt: skip


async def test_a_value_that_reaches_a_whole_document_is_left_after_its_first_characters(
    node: Node, tmp_path: Path
) -> None:
    """domutils' findOne on a page of 200 000 nodes: each node's parent and siblings reach the
    whole page, and writing it back visited all of it before its length was checked."""
    script = tmp_path / "walk.cjs"
    script.write_text(
        RUNTIME.replace("__TANDEM_MAX_SOURCE", "2000")
        + """
let visits = 0;
const body = { name: "body", children: [] };
for (let i = 0; i < 200000; i++) {
  body.children.push({ get name() { visits++; return "div"; }, parent: body });
}
const small = { name: "p", children: [{ name: "b" }] };
console.log(JSON.stringify([__tandemSource(body, 0), visits, __tandemSource(small, 0)]));
"""
    )
    code, output = await run_runner(node, tmp_path, str(script))
    assert code == 0, output
    text, visits, small = json.loads(output)
    assert text is None and visits < 1000, visits  # not 200 000
    assert small == '{"name": "p", "children": [{"name": "b"}]}'


async def test_the_probe_stops_calling_past_its_time_and_calls_a_slow_call_once(
    node: Node, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    runtime = RUNTIME.replace("__TANDEM_MAX_SOURCE", "2000")
    script = tmp_path / "try.cjs"
    for budget, slow in ((-1, 5000), (60000, -1)):
        script.write_text(
            f"const __TANDEM_OUT = {json.dumps(str(out))};\n"
            'const { writeFileSync: __tandemWrite } = require("fs");\n'
            f"const __TANDEM_BUDGET_MS = {budget};\nconst __TANDEM_SLOW_MS = {slow};\n"
            + runtime
            + """
let calls = 0;
__tandemTry("f", 0, () => ++calls).then(() => console.log(calls));
"""
        )
        code, output = await run_runner(node, tmp_path, str(script))
        assert code == 0, output
        (found,) = json.loads(out.read_text())
        if budget < 0:  # past the probe's time: not called
            assert (output.strip(), found["outcome"]) == ("0", {"kind": "cut"})
        else:  # slower than the slow mark: called once, not asserted
            assert (output.strip(), found["outcome"]) == ("1", {"kind": "slow"})


async def test_a_registered_symbol_key_is_written_back_and_compared(
    node: Node, tmp_path: Path
) -> None:
    """ufo's parseURL marks its result with a `Symbol.for` key: the value was opaque, and 23 of
    its 40 calls gave no test. A registered symbol has a source form; another has none."""
    script = tmp_path / "source.cjs"
    script.write_text(
        RUNTIME.replace("__TANDEM_MAX_SOURCE", "2000")
        + """
const marked = { a: 1, [Symbol.for("ufo:mark")]: false };
console.log(JSON.stringify([
  __tandemSource(marked, 0),
  __tandemSource({ a: 1, [Symbol("own")]: 1 }, 0),
]));
"""
    )
    code, output = await run_runner(node, tmp_path, str(script))
    assert code == 0, output
    assert json.loads(output) == ['{"a": 1, [Symbol.for("ufo:mark")]: false}', None]


QUOTED_TS = """\
export function unquote(value: string, options: { mode?: string; trim?: boolean } = {}) {
  if (value[0] === '"' && value.at(-1) === '"' && !value.includes("\\\\")) {
    return options.trim ? value.slice(1, -1).trim() : value.slice(1, -1);
  }
  const tags = options.tags || value.length ? [] : null;
  return options.mode === "strict" ? null : tags && value;
}
"""


async def test_the_scan_puts_what_the_change_brought_first(node: Node, tmp_path: Path) -> None:
    base = QUOTED_TS.replace(' && !value.includes("\\\\")', "")
    test = ("test/q.test.ts", 'import { unquote } from "../src/q";\nunquote(\'"a"\');\n')
    scan = await scan_of(node, tmp_path, ("src/q.ts", QUOTED_TS), [2, 3], test, base)
    (function,) = scan.functions
    # the new backslash before the number and the quote both versions check
    assert function.literals[:3] == ('"\\\\"', "0", "'\"'"), function.literals
    # the options it reads, the one on a changed line first; a method (`value.at`) is none
    # a fallback (`options.tags || …`) gives no value, an array's or a string's length is none
    assert function.params[1].props == (("trim", "true"), ("tags", "true"), ("mode", '"strict"'))
    assert function.params[0].props == ()


def test_an_array_or_object_argument_is_observed_after_the_call_also_reversed() -> None:
    # cron-parser: the constructor sorted the caller's array itself; the tests' arrays are
    # sorted already, so only the reversed one tells the head from the base
    made = Expression(
        "Field", "new Second([1, 2, 3], { strict: true })", "", "test/a.test.ts", (), (),
        call=("new Second", ("[1, 2, 3]", "{ strict: true }")),
    )  # fmt: skip
    seen = [(e.setup, e.text) for e in observed_arguments(made)]
    assert seen == [
        ("const given = [1, 2, 3];\nnew Second(given, { strict: true });", "given"),
        ("const given = [3, 2, 1];\nnew Second(given, { strict: true });", "given"),
        ("const given = { strict: true };\nnew Second([1, 2, 3], given);", "given"),
    ]
    typed = replace(made, call=("new Second", ("[0, 100] as Range[]",)))
    assert [e.setup for e in observed_arguments(typed)] == [
        "const given = [0, 100] as Range[];\nnew Second(given);"
    ]
    candidates = expression_candidates([made], {})
    assert candidates[1].label == "new Second(given, { strict: true });"
