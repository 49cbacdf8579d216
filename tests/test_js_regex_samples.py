"""Inputs from a changed regular expression (``regex_samples.cjs``): the shortest string the
regex matches, which the offline JS/TS engine puts at the edges of the tests' own arguments, as
it does with a changed comparison's number (ufo's ``withProtocol`` learnt ``/^\\/{2,}/``)."""

from __future__ import annotations

import json
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

SAMPLES = Path(__file__).parents[1] / "jobs/languages/javascript/regex_samples.cjs"


@pytest.fixture(scope="module")
def node() -> Node:
    return node_or_skip()


async def samples(node: Node, regexes: list[str]) -> list[str | None]:
    script = (
        f"const {{ regexSample }} = require({json.dumps(str(SAMPLES))});"
        f"process.stdout.write(JSON.stringify({json.dumps(regexes)}.map(regexSample)));"
    )
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "-e", script], cwd=SAMPLES.parent, timeout_s=60
    )
    assert done.returncode == 0, done.output
    found: list[str | None] = json.loads(done.output)
    return found


async def test_a_regex_gives_the_shortest_string_it_matches(node: Node) -> None:
    regexes = [
        r"/^\/{2,}/",  # a quantifier repeats its atom
        r"/\/(?=[A-Za-z]:)/",  # a lookahead's text is part of the input
        r"/(?<!\/)\/(?!\/)/",  # negative lookarounds add nothing
        r"/^\d{3}-(x|y)$/i",  # the first alternative, flags ignored
        r"/e[+-]?\d+/",  # an optional atom left out
        r"/[^a]/",  # a negated class: no safe pick
        r"/(a)\1/",  # a backreference: not read
    ]
    assert await samples(node, regexes) == [
        '"//"',
        '"/A:"',
        '"/"',
        '"000-x"',
        '"e0"',
        None,
        None,
    ]


async def many(node: Node, regex: str, others: list[str]) -> list[str]:
    script = (
        f"const {{ regexSamples }} = require({json.dumps(str(SAMPLES))});"
        f"process.stdout.write(JSON.stringify(regexSamples({json.dumps(regex)}, "
        f"{json.dumps(others)}).map((s) => JSON.parse(s))));"
    )
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "-e", script], cwd=SAMPLES.parent, timeout_s=60
    )
    assert done.returncode == 0, done.output
    found: list[str] = json.loads(done.output)
    return found


async def test_a_regex_gives_a_string_for_each_alternative_and_quantifier(node: Node) -> None:
    # each alternative; a quantifier twice more than its least; a class's first and last picks;
    # only strings the regex matches
    assert await many(node, r"/^\d{3}-(x|y)$/i", []) == ["000-x", "999-y"]
    assert await many(node, r"/e[+-]?\d+/", []) == ["e0", "e9", "e+0", "e-9", "e000", "e999"]
    assert await many(node, r"/[^a]/", []) == []


async def test_where_the_changed_regex_and_the_one_it_replaced_differ_comes_first(
    node: Node,
) -> None:
    head = r"/^[$_]?([A-Z_a-z]\w*|\d)$/"  # knitwork's key: a leading digit is no identifier
    found = await many(node, head, [r"/^[$_]?\w*$/"])
    decisive = {s for s in found if not re.fullmatch(r"[$_]?([A-Z_a-z]\w*|\d)", s)}
    assert "00" in decisive and found[: len(decisive)] == [s for s in found if s in decisive]
    # a decimal in scientific notation: the base's regex took none
    scientific = r"/^\s*-?\d{1,16}(\.\d{1,17})?([Ee][+-]?\d+)?\s*$/"
    assert (await many(node, scientific, [r"/^\s*-?\d[\d.]{0,14}\s*$/"]))[0] == "0E0"


SCHEME_TS = """\
export function withScheme(input: string, scheme: string): string {
  if (/^\\/{2,}/.test(input)) {
    return scheme + ":" + input;
  }
  return scheme + "://" + input;
}
"""
# the base commit: a protocol-relative input got a second pair of slashes
BASE_TS = SCHEME_TS.replace(
    '  if (/^\\/{2,}/.test(input)) {\n    return scheme + ":" + input;\n  }\n', ""
)
SCHEME_TEST = """\
import { it, expect } from "vitest";
import { withScheme } from "../src/scheme";

it("adds", () => { expect(withScheme("example.com", "https")).toBe("https://example.com"); });
"""


async def test_a_changed_regex_gives_the_input_that_pins_the_change(
    node: Node, tmp_path: Path
) -> None:
    root = tmp_path / "pkg"
    files = vitest_ts_files(
        {
            "src/scheme.ts": BASE_TS,
            "test/scheme.test.ts": SCHEME_TEST,
        }
    )
    base_sha = base_then_head(root, files, {"src/scheme.ts": SCHEME_TS})
    await npm_install(LocalSandbox(), node, root)
    workspace = Workspace(
        LocalSandbox(), root, "tests", time.monotonic() + 600, print, {}, SeedPlan(), base_sha
    )
    outcome = await CharacterizeJs().generate(workspace, [Target("src/scheme.ts", [2, 3], [])])
    assert outcome.written == ["test/scheme.tandem.test.ts"], outcome.notes
    text = (root / "test/scheme.tandem.test.ts").read_text()
    # the test's own argument with the regex's sample put before it: the base doubles the slashes
    assert 'expect(withScheme("//example.com", "https")).toEqual("https://example.com");' in text
    differ = re.search(r"(\d+) of them on inputs that behave differently", outcome.notes[0])
    assert differ and int(differ[1]) >= 1, outcome.notes
    done = await LocalSandbox().run(
        [*env_prefix(), str(node.path), "node_modules/vitest/vitest.mjs", "run", "test/"],
        cwd=root,
        timeout_s=300,
    )
    assert done.returncode == 0, done.output


async def test_a_unicode_property_and_a_class_whose_members_take_turns(node: Node) -> None:
    # change-case: digits joined the letters of a word; the base's regex finds only the "a" of
    # "0a0", the head's all of it
    head, base = r"/[\p{Alphabetic}\p{Nd}]+/gu", r"/\p{Alphabetic}+/gu"
    found = await many(node, head, [base])
    assert found[:3] == ["0", "a0a", "0a0"]
    assert await many(node, r"/\p{Lu}\P{Lu}/u", []) == ["Aa"]
    assert await many(node, r"/\p{Script=Greek}/u", []) == []  # a property it does not know
