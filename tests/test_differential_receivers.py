"""A changed method that no test calls, compared on the objects the tests call its class's other
methods on (:mod:`jobs.testgen.engines.borrowed_receivers`): the capture writes down the
receivers of those methods, and the changed method is called on each. A tiny real project with
a real git history, its tests run under pytest in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from jobs.testgen.engines.borrowed_receivers import borrowed_calls, siblings
from jobs.testgen.engines.differential_targets import plan
from jobs.testgen.engines.seeds import Seed
from tests.differential_support import assert_pins, differential_on_change

BOXES = """class Box:
    def __init__(self, size):
        self.size = size

    def grow(self):
        return Box(self.size + 1)

    def same(self, other):
        return self.size == other.size

    def describe(self):
        return f"box of {self.size}"

    def __eq__(self, other):
        return self.size == other.size


def box_of(size):
    return Box(size)
"""
BOXES_HEAD = BOXES.replace('f"box of {self.size}"', 'f"a box of {self.size}"')
# Boxes are built (by the module's factory: no test spells a `Box(...)` to call the method on)
# and grown, never described: nothing calls the changed method.
BOXES_TESTS = """from pkg.boxes import box_of


def test_grow():
    assert box_of(1).grow().size == 2
"""


def test_the_receivers_of_the_classs_other_methods_take_the_changed_method(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "boxes.py").write_text(BOXES_HEAD)
    targets, _ = plan(tmp_path, {"pkg/boxes.py": {12}}, {"pkg/boxes.py": BOXES}, {})
    assert [t.callable.qualname for t in targets] == ["Box.describe"]
    assert siblings(BOXES_HEAD, targets) == ["Box.grow", "Box.same", "Box.__eq__"]
    seen = [
        Seed("pkg/boxes.py", "Box.grow", "Box(1).grow()", "runtime"),
        Seed("pkg/boxes.py", "Box.same", "Box(3).same(Box(1))", "runtime"),
        Seed("pkg/boxes.py", "Box.grow", "Box.grow(Box(2))", "runtime"),  # on the class
    ]
    calls = sorted(s.call_source for s in borrowed_calls(targets, seen))
    assert calls == ["Box(1).describe()", "Box(3).describe()"]


async def test_a_changed_method_no_test_calls_is_pinned_on_the_tests_receivers(
    tmp_path: Path,
) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/boxes.py", BOXES, BOXES_HEAD, BOXES_TESTS
    )
    assert outcome.written == ["tests/test_pkg_boxes_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Box(1).describe() == 'a box of 1'" in text, text
