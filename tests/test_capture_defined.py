"""Inputs of a class the test module defines itself (issue #19): the changed function takes an
object whose class exists only in the test file, so its call did not rebuild in the changed
module's namespace and was lost. The capture reads the class back from its source, writes its
instance from the construction it watched (or as ``Name()`` when it holds no state), and the
probe and the generated test define the class in turn. A tiny real project with a real git
history, its tests run under pytest in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from tests.differential_support import assert_pins, differential_on_change

SHELF = """def describe(item):
    return f"{item.name}: {len(item)}"
"""
SHELF_HEAD = SHELF.replace('{len(item)}"', '{len(item)} items"')
# Only an object with a name and a length reaches the change; the test's own class is one, and
# its assertion holds on both commits, so the authors' test does not pin the change.
SHELF_TESTS = """from pkg.shelf import describe


class Box:
    def __init__(self, name, things):
        self.name = name
        self.things = list(things)

    def __len__(self):
        return len(self.things)


def test_describe():
    assert describe(Box("tools", [1, 2])).startswith("tools: 2")
"""
LABEL = """def label(item):
    return str(item).upper()
"""
LABEL_HEAD = LABEL.replace("str(item).upper()", "str(item).title()")
# No state, all its behaviour in a method that uses a standard-library module: written as
# `Loud()`, and the generated test imports that module.
LABEL_TESTS = """import string

from pkg.label import label


class Loud:
    def __str__(self):
        return string.ascii_lowercase[:3] + " box"


def test_label():
    assert label(Loud()).lower() == "abc box"
"""

ORDERS = """def total(order):
    return sum(line.price for line in order.lines)
"""
ORDERS_HEAD = ORDERS.replace("line.price for", "line.price * line.quantity for")
# Dataclasses whose decorator and field factory come from `from dataclasses import ...`: names
# of neither the changed module nor the builtins. The test's one quantity is 1, on which both
# commits agree.
ORDERS_TESTS = """from dataclasses import dataclass, field

from pkg.orders import total


@dataclass
class Line:
    price: int
    quantity: int = 1


@dataclass
class Order:
    lines: list = field(default_factory=list)


def test_total():
    assert total(Order([Line(3)])) == 3
"""


async def test_an_object_of_a_class_the_test_module_defines_is_rebuilt_there(
    tmp_path: Path,
) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/shelf.py", SHELF, SHELF_HEAD, SHELF_TESTS
    )
    assert outcome.written == ["tests/test_pkg_shelf_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "class Box:" in text, text
    assert "describe(Box('tools', [1, 2])) == 'tools: 2 items'" in text, text


async def test_a_stateless_test_class_is_rebuilt_with_the_modules_it_imports(
    tmp_path: Path,
) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/label.py", LABEL, LABEL_HEAD, LABEL_TESTS
    )
    assert outcome.written == ["tests/test_pkg_label_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "import string\n" in text, text
    assert "label(Loud()) == 'Abc Box'" in text, text


async def test_a_dataclass_of_the_test_module_is_rebuilt_with_its_standard_library_names(
    tmp_path: Path,
) -> None:
    """Its instances rebuild from their repr once the class is defined; the names it imported
    one by one are spelled as `dataclasses`' attributes, which the generated test imports."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/orders.py", ORDERS, ORDERS_HEAD, ORDERS_TESTS
    )
    assert outcome.written == ["tests/test_pkg_orders_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "import dataclasses\n" in text, text
    assert "@dataclasses.dataclass\nclass Line:" in text, text
    assert "lines: list = dataclasses.field(default_factory=list)" in text, text
    assert "total(Order(lines=[Line(price=3, quantity=" in text, text
