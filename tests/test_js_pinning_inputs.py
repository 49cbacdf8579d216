"""Inputs of the offline JS/TS engine that tell the head from the base commit where the tests'
own calls do not: samples of a changed regex beside the one it replaced (read from the base
commit's version of the source), an options parameter given each property the function reads
of it, and an object argument whose properties are inherited. The calls run on both sides; a
test of an input that differs pins the change."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from jobs.languages.javascript.export_engine import CharacterizeJs
from jobs.languages.javascript.toolchain import Node, env_prefix
from jobs.sandbox.local_sandbox import LocalSandbox
from jobs.testgen.engines.engine_protocol import Workspace
from jobs.testgen.engines.seeds import SeedPlan
from jobs.testgen.targets import Target
from tests.js_support import base_then_head, node_or_skip, npm_install, vitest_ts_files

# the head: a key that starts with a digit is no identifier; `single` gives one pair of quotes
KEYS_TS = """\
const IDENT_RE = /^[$_]?([A-Z_a-z]\\w*|\\d)$/;

export function objectKey(key: string): string {
  return IDENT_RE.test(key) ? key : JSON.stringify(key);
}

export function quote(input: string, options: { single?: boolean } = {}): string {
  const text = JSON.stringify(input);
  if (!options.single) {
    return text;
  }
  return `'${text.slice(1, -1)}'`;
}

export function merge(base: object, defaults: object): object {
  const out: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(base)) {
    out[key] = (base as Record<string, unknown>)[key];
  }
  return out;
}
"""
BASE_TS = (
    KEYS_TS.replace("([A-Z_a-z]\\w*|\\d)", "\\w*")
    .replace("`'${text.slice(1, -1)}'`", "`'${text}'`")
    .replace("const key of Object.keys(base)", "const key in base")
)
# the package's tests: neither a key with a leading digit nor the option
KEYS_TEST = """\
import { it, expect } from "vitest";
import { merge, objectKey, quote } from "../src/keys";

it("keeps an identifier", () => { expect(objectKey("name")).toBe("name"); });
it("quotes", () => { expect(quote("a")).toBe('"a"'); });
it("merges", () => { expect(merge({ a: 1 }, { b: 2 })).toEqual({ a: 1, b: 2 }); });
"""


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


async def test_a_replaced_regex_and_a_read_option_give_inputs_that_pin(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    files = vitest_ts_files({"src/keys.ts": BASE_TS, "test/keys.test.ts": KEYS_TEST})
    base_sha = base_then_head(root, files, {"src/keys.ts": KEYS_TS})
    await npm_install(LocalSandbox(), node, root)
    workspace = Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )
    outcome = await CharacterizeJs().generate(workspace, [Target("src/keys.ts", [1, 12, 17], [])])
    assert outcome.written == ["test/keys.tandem.test.ts"], outcome.notes
    text = (root / "test/keys.tandem.test.ts").read_text()
    # "00" matches the base's regex, not the head's: the base left it unquoted
    assert 'expect(objectKey("00")).toEqual("\\"00\\"");' in text
    # the option the function reads, which no test passes
    assert re.search(r"quote\(\"[^\"]*\", \{ single: true \}\)", text), text
    # an object whose properties are inherited: `for … in` took them, `Object.keys` does not
    assert "expect(merge(Object.create({ a: 1 }), { b: 2 })).toEqual({" in text, text
    differ = re.search(r"(\d+) of them on inputs that behave differently", outcome.notes[0])
    assert differ and int(differ[1]) >= 3, outcome.notes
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run", "test/"],
        cwd=root,
        timeout_s=300,
    )
    assert done.returncode == 0, done.output


# the head: digits now belong to a word ("21st" keeps its lower-case "st"); in a sentence, an
# acronym after the first word keeps its case (the base upper-cased every acronym)
WORDS_TS = """\
const WORD = /[\\p{Alphabetic}\\p{Nd}]+/gu;
const ACRONYM = /^(?:\\p{Alphabetic}\\.){2,}$/u;

export function capitalize(input: string): string {
  return input.replace(WORD, (word) => word.charAt(0).toUpperCase() + word.slice(1));
}

export function acronyms(input: string, options: { sentence?: boolean } = {}): string {
  const { sentence = false } = options;
  return input
    .split(" ")
    .map((w, i) => (ACRONYM.test(w) ? (sentence && i > 0 ? w : w.toUpperCase()) : w))
    .join(" ");
}
"""
WORDS_BASE_TS = WORDS_TS.replace("[\\p{Alphabetic}\\p{Nd}]+", "\\p{Alphabetic}+").replace(
    "(sentence && i > 0 ? w : w.toUpperCase())", "w.toUpperCase()"
)
# a table whose rows mostly leave the options out; its one acronym after the first word is
# upper case already, and no word starts with a digit
WORDS_TEST = """\
import { describe, it, expect } from "vitest";
import { acronyms, capitalize } from "../src/words";

const CASES: [string, string, { sentence?: boolean }?][] = [
  ["u.n. first", "U.N. first"],
  ["the U.N. and me", "the U.N. and me", { sentence: true }],
];

describe("acronyms", () => {
  for (const [input, expected, options] of CASES) {
    it(input, () => {
      expect(acronyms(input, options)).toBe(expected);
    });
  }
});

it("capitalizes", () => { expect(capitalize("one two")).toBe("One Two"); });
"""


async def test_a_unicode_class_and_a_string_in_lower_case_give_inputs_that_pin(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    files = vitest_ts_files({"src/words.ts": WORDS_BASE_TS, "test/words.test.ts": WORDS_TEST})
    base_sha = base_then_head(root, files, {"src/words.ts": WORDS_TS})
    await npm_install(LocalSandbox(), node, root)
    workspace = Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )
    outcome = await CharacterizeJs().generate(workspace, [Target("src/words.ts", [1, 13], [])])
    assert outcome.written == ["test/words.tandem.test.ts"], outcome.notes
    text = (root / "test/words.tandem.test.ts").read_text()
    # a word that mixes digits and letters: the base's `\p{Alphabetic}+` capitalised its "a"
    assert re.search(r'expect\(capitalize\("[^"]*0a0[^"]*"\)\)\.toEqual\("[^"]*0a0', text), text
    # the table's row with its acronym in lower case: the base upper-cased it
    assert 'acronyms("the u.n. and me", { sentence: true })).toEqual("the u.n. and me")' in text
    differ = re.search(r"(\d+) of them on inputs that behave differently", outcome.notes[0])
    assert differ and int(differ[1]) >= 2, outcome.notes
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run", "test/"],
        cwd=root,
        timeout_s=300,
    )
    assert done.returncode == 0, done.output


# the head: a wider offset range, and a gap that weighs a step across the axis double; no test
# calls either, the tests only hold objects of their shapes (what another function returns)
SHAPES_TS = """\
export interface Point { x: number; y: number; label: string }

export function parsePoint(text: string): Point {
  const [x, y, label] = text.split(",");
  return { x: Number(x), y: Number(y), label };
}

export function readOffset(text: string): { hour?: number; offset?: number } {
  const [hour, offset] = text.split(" ").map(Number);
  return { hour, offset };
}

export function inRange(p: { hour?: number; offset?: number }): boolean {
  const hour = p.hour === undefined || (p.hour >= 0 && p.hour <= 23);
  return hour && (p.offset === undefined || (p.offset >= -913 && p.offset <= 956));
}

export function gap(a: Point, b: Point): number {
  const across = a.y < 0 !== b.y < 0 ? 2 : 1;
  return Math.abs(a.x - b.x) + Math.abs(a.y - b.y) * across;
}
"""
SHAPES_BASE_TS = SHAPES_TS.replace("-913 && p.offset <= 956", "-840 && p.offset <= 720").replace(
    "a.y < 0 !== b.y < 0 ? 2 : 1", "1"
)
SHAPES_TEST = """\
import { it, expect } from "vitest";
import { parsePoint, readOffset } from "../src/shapes";

it("parses", () => {
  expect(parsePoint("1,2,a")).toEqual({ x: 1, y: 2, label: "a" });
  expect(parsePoint("0,-4,b")).toEqual({ x: 0, y: -4, label: "b" });
});
it("reads", () => { expect(readOffset("10 -540")).toEqual({ hour: 10, offset: -540 }); });
"""


async def test_objects_the_tests_hold_are_the_arguments_of_a_function_no_test_calls(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    files = vitest_ts_files({"src/shapes.ts": SHAPES_BASE_TS, "test/shapes.test.ts": SHAPES_TEST})
    base_sha = base_then_head(root, files, {"src/shapes.ts": SHAPES_TS})
    await npm_install(LocalSandbox(), node, root)
    workspace = Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )
    target = Target("src/shapes.ts", [15, 19], [])
    outcome = await CharacterizeJs().generate(workspace, [target])
    assert outcome.written == ["test/shapes.tandem.test.ts"], (outcome.notes, outcome.crashed)
    text = (root / "test/shapes.tandem.test.ts").read_text()
    # the tests' object with the changed line's bound set: the base refused the offset
    assert "expect(inRange({ hour: 10, offset: -913 })).toEqual(true);" in text, text
    # two of the tests' points on either side of the axis: the base did not weigh the step
    pair = 'gap({ x: 1, y: 2, label: "a" }, { x: 0, y: -4, label: "b" })).toEqual(13)'
    assert pair in text, text
    differ = re.search(r"(\d+) of them on inputs that behave differently", outcome.notes[0])
    assert differ and int(differ[1]) >= 2, outcome.notes
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run", "test/"],
        cwd=root,
        timeout_s=300,
    )
    assert done.returncode == 0, done.output


# the head: a field copies the caller's values before it sorts them (the base sorted the
# caller's array itself), and a step range leaves 0 out unless it lands on 7; the constructor is
# reached through a subclass of another module, the private static helper through `parse`
FIELD_TS = """\
export abstract class Field {
  readonly values: number[];
  constructor(values: number[]) {
    this.values = [...values].sort((a, b) => a - b);
  }
}
"""
SECOND_TS = 'import { Field } from "./field";\n\nexport class Second extends Field {}\n'
PARSER_TS = """\
export class Parser {
  static parse(text: string): number[] {
    const [min, max] = text.split("-").map(Number);
    return Parser.#range(min, max);
  }

  static #range(min: number, max: number): number[] {
    const out: number[] = [];
    for (let i = min; i <= max; i += 1) out.push(i);
    if (max === 7 && (max - min) % 2 === 0) out.unshift(0);
    return out;
  }
}
"""
FIELDS_TEST = """\
import { it, expect } from "vitest";
import { Second } from "../src/fields/second";
import { Parser } from "../src/fields/parser";

it("sorts", () => {
  const second = new Second([1, 2, 3]);
  expect(second.values).toEqual([1, 2, 3]);
});
it("parses", () => { expect(Parser.parse("2-7").length).toBeGreaterThan(3); });
"""


async def test_a_constructor_and_a_private_member_are_reached_and_an_argument_observed(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    base = {
        "src/fields/field.ts": FIELD_TS.replace("[...values].sort", "values.sort"),
        "src/fields/second.ts": SECOND_TS,
        "src/fields/parser.ts": PARSER_TS.replace(" && (max - min) % 2 === 0", ""),
        "test/fields.test.ts": FIELDS_TEST,
    }
    head = {"src/fields/field.ts": FIELD_TS, "src/fields/parser.ts": PARSER_TS}
    base_sha = base_then_head(root, vitest_ts_files(base), head)
    await npm_install(LocalSandbox(), node, root)
    workspace = Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )
    targets = [Target("src/fields/field.ts", [4], []), Target("src/fields/parser.ts", [10], [])]
    outcome = await CharacterizeJs().generate(workspace, targets)
    assert outcome.written == [
        "test/fields/field.tandem.test.ts",
        "test/fields/parser.tandem.test.ts",
    ], (outcome.notes, outcome.crashed)
    field = (root / "test/fields/field.tandem.test.ts").read_text()
    # the caller's array after the call, in reverse order: the base sorted it
    assert (
        "const given = [3, 2, 1];\n    new Second(given);\n    expect(given).toEqual([3, 2, 1]);"
        in field
    ), field
    parser = (root / "test/fields/parser.tandem.test.ts").read_text()
    assert 'expect(Parser.parse("2-7").length).toEqual(6);' in parser, parser
    for note in outcome.notes:
        differ = re.search(r"(\d+) of them on inputs that behave differently", note)
        assert differ and int(differ[1]) >= 1, outcome.notes
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run", "test/"],
        cwd=root,
        timeout_s=300,
    )
    assert done.returncode == 0, done.output
