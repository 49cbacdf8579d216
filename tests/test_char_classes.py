"""Characters at the edge of a class the change tests (jobs/testgen/engines/char_classes.py):
which characters a change to how text is classified asks for, where a string gets them, and
real runs of the differential and amplification engines on small two-commit projects whose
change shows only on such a character; and an amplified test that ends where the head raises."""

from __future__ import annotations

import ast
from pathlib import Path

from jobs.testgen.engines import amplify_probe, char_classes
from jobs.testgen.engines.amplify_probe import Observed
from tests.differential_support import assert_pins, differential_on_change
from tests.test_amplify import function
from tests.test_amplify_rounds import amplified

PORTS = """def port_of(address):
    port = address.rpartition(':')[2]
    try:
        return int(port)
    except ValueError:
        raise ValueError(f'bad port {port!r}')
"""
PORTS_HEAD = """def port_of(address):
    port = address.rpartition(':')[2]
    if port.isascii() and port.isdigit():
        return int(port)
    raise ValueError(f'bad port {port!r}')
"""
CODES = """import re

_CODE = re.compile('[A-Z]{4}([A-Z0-9]{3})?')


def valid(code):
    return _CODE.match(code) is not None
"""


def test_a_change_that_reads_numbers_out_of_text_asks_for_a_numbers_edges_first() -> None:
    chars = char_classes.classifying_chars(PORTS, PORTS_HEAD)
    assert chars[:4] == ("-", " ", "_", "+")
    assert "\u0663" in chars  # int() reads a digit of another script, isascii() refuses it
    assert "\u00e9" in chars


def test_a_changed_regex_or_match_call_asks_for_a_line_break_and_foreign_characters() -> None:
    assert "\n" in char_classes.classifying_chars('X = ".*"\n', 'X = "(?s:.*)"\n')
    fullmatch = CODES.replace("_CODE.match(", "_CODE.fullmatch(")
    assert char_classes.classifying_chars(CODES, fullmatch) == char_classes.REGEX
    # A plain string is no regex; a call that classifies nothing asks for nothing.
    assert char_classes.classifying_chars('X = "a"\n', 'X = "b"\n') == ()
    assert char_classes.classifying_chars("x = f(1)\n", "x = f(2)\n") == ()


AMOUNTS = '''import re


def amount(text):
    """Reads 1'000 as a thousand (a docstring's marks are no part of the code)."""
    return re.search(
        r"""
        ([\\d.,]*)  # digits and separators
        """,
        text,
    )
'''


def test_a_mark_a_changed_regex_gains_goes_inside_a_number_first() -> None:
    head = AMOUNTS.replace("[\\d.,]", "[\\d.,']")
    chars = char_classes.classifying_chars(AMOUNTS, head)
    assert chars[0] == "'"
    assert char_classes.char_variants("CHF 1049.95", chars)[0] == "CHF 1049.9'5"


def test_a_string_gets_the_characters_beside_its_last_number_or_at_its_end() -> None:
    assert char_classes.char_variants("h:80/x", ("-", "_", "\n", "@")) == [
        "h:-80/x",
        "h:8_0/x",
        "h:80/x\n",
        "h:80/x@",
        "h:80-/x",
        "h:80/\n",
        "h:80/@",
    ]
    assert char_classes.char_variants("ab", ("-",)) == ["ab-", "a-"]  # no number: at the end
    assert char_classes.call_variants("f('a:8', 3)", ("-",))[:2] == ["f('a:-8', 3)", "f('a:8', -3)"]
    assert char_classes.call_variants("f('a:8')", ()) == []


async def test_a_sign_before_a_number_pins_a_port_that_is_only_ascii_digits_now(
    tmp_path: Path,
) -> None:
    tests = "from pkg.ports import port_of\n\n\ndef test_port():\n"
    tests += "    assert port_of('example.com:80') == 80\n"
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/ports.py", PORTS, PORTS_HEAD, tests
    )
    assert outcome.written, outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "port_of('example.com:-80')" in text or "port_of('example.com: 80')" in text


async def test_a_line_break_at_the_end_pins_match_become_fullmatch(tmp_path: Path) -> None:
    head = CODES.replace("_CODE.match(", "_CODE.fullmatch(")
    tests = "from pkg.codes import valid\n\n\ndef test_valid():\n    assert valid('ABCD123')\n"
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/codes.py", CODES, head, tests
    )
    assert outcome.written, outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "is False" in text


def test_an_assignment_that_raises_on_the_head_only_ends_the_written_test() -> None:
    test = function(
        "def test_port():\n    port = port_of('h:-80')\n    assert port == -80\n"
        "    assert port_of('h:1') == 1\n"
    )
    raised = {"type": "builtins.ValueError", "spelled": "ValueError", "message": "bad port '-80'"}
    head = {1: [Observed("raised", raised)], 2: [Observed("value", {"repr": "None"})]}
    written = ast.unparse(amplify_probe.written(test, "test_port_minus", head, {1, 2}))
    assert written.splitlines()[1:] == [
        "    with pytest.raises(ValueError, match=\"bad port '-80'\"):",
        "        port = port_of('h:-80')",
    ]


async def test_amplification_pins_through_an_assignment_that_raises_now(tmp_path: Path) -> None:
    tests = "from pkg.ports import port_of\n\n\ndef test_port():\n"
    tests += "    port = port_of('example.com:80')\n    assert port == 80\n"
    files = {"pkg/__init__.py": "", "pkg/ports.py": PORTS, "tests/test_ports.py": tests}
    outcome = await amplified(tmp_path, files, {"pkg/ports.py": PORTS_HEAD})
    assert outcome.written == ["tests/test_ports_amplified.py"], outcome.notes
    text = await assert_pins(outcome.repo, outcome.base_sha, outcome.written)
    assert "with pytest.raises(ValueError" in text
    assert "assert port ==" not in text
