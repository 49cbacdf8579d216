"""Receivers the tests build where the captured call cannot see how (issue #19): in a pytest
fixture, in a unittest ``setUp``. The object's repr is not code, so neither its method's call nor
the test's expression rebuilds it; the capture writes down how the object was constructed
(its class's ``__init__`` call, with arguments that rebuild) and uses that as the receiver. A
tiny real project with a real git history, its tests run under pytest in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from tests.differential_support import assert_pins, capture_records, differential_on_change

STORE = """class Store:
    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.items = {}

    def room(self, n):
        return n < self.maxsize
"""
STORE_HEAD = STORE.replace("return n < self.maxsize", "return n <= self.maxsize")
# The object comes out of a fixture and its default repr carries an address; the assertion
# holds on both commits, so the authors' test does not pin the change.
FIXTURE_TESTS = """import pytest

from pkg.store import Store


@pytest.fixture
def store():
    return Store(maxsize=3)


def test_room(store):
    assert store.room(3) in (True, False)
"""
SETUP_TESTS = """import unittest

from pkg.store import Store


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.store = Store(3)

    def test_room(self):
        self.assertIn(self.store.room(3), (True, False))
"""


async def test_a_receiver_a_fixture_builds_is_rebuilt_from_its_construction(
    tmp_path: Path,
) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/store.py", STORE, STORE_HEAD, FIXTURE_TESTS
    )
    assert outcome.written == ["tests/test_pkg_store_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    # The constructor's arguments as its frame holds them: by position.
    assert "Store(3).room(3) is True" in text, text


async def test_a_receiver_setup_builds_is_rebuilt_from_its_construction(tmp_path: Path) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/store.py", STORE, STORE_HEAD, SETUP_TESTS
    )
    assert outcome.written == ["tests/test_pkg_store_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Store(3).room(3) is True" in text, text


GAUGE = """class Gauge:
    def __init__(self, level):
        self.level = level

    @property
    def high(self):
        return self.level > 3
"""
GAUGE_HEAD = GAUGE.replace("self.level > 3", "self.level >= 3")
GAUGE_TESTS = """import pytest

from pkg.gauge import Gauge


@pytest.fixture
def gauge():
    return Gauge(level=3)


def test_high(gauge):
    assert gauge.high in (True, False)
"""


async def test_a_property_of_a_fixtures_object_is_read_not_called(tmp_path: Path) -> None:
    """The getter's own call is written as the attribute it is (`Gauge(3).high`), not as a
    call of its value, which raises alike on both commits."""
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/gauge.py", GAUGE, GAUGE_HEAD, GAUGE_TESTS
    )
    assert outcome.written == ["tests/test_pkg_gauge_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Gauge(3).high is True" in text, text


SHAPES = """class Base:
    def __init__(self, size):
        self.size = size


class Box(Base):
    __slots__ = ("label",)

    def __init__(self, label, size):
        super().__init__(size)
        self.label = label

    def area(self):
        return self.size * self.size
"""
SHAPES_TESTS = """import pytest

from pkg.shapes import Box


@pytest.fixture
def box():
    return Box("b", 2)


def test_area(box):
    assert box.area() == 4
"""


def test_a_subclass_is_written_with_its_own_arguments_even_without_weak_references(
    tmp_path: Path,
) -> None:
    """The capture script alone, under real pytest: the outermost ``__init__`` (the subclass's,
    not the base's it calls) is the construction written, and an object with ``__slots__`` (no
    weak reference to it) is noted as well."""
    files = {
        "pkg/__init__.py": "",
        "pkg/shapes.py": SHAPES.replace("class Base:", "class Base:\n    __slots__ = ('size',)"),
        "tests/test_shapes.py": SHAPES_TESTS,
    }
    job = {
        "module": "pkg.shapes",
        "path": "pkg/shapes.py",
        "targets": ["Box.area"],
        "tests": ["tests/test_shapes.py"],
        "max_per_target": 5,
        "max_relevant": 0,
        "tokens": [],
    }
    records = capture_records(tmp_path, files, job)
    assert [r["call"] for r in records if not r.get("novel")] == ["Box('b', 2).area()"], records


# The object is built while the test module is imported, in a parametrize list, before the
# tests are collected; its default repr carries an address, and no literal call in the test
# text builds it (its size is a loop variable).
PARAMETRIZE_TESTS = """import pytest

from pkg.store import Store


@pytest.mark.parametrize("store", [Store(size) for size in (3,)])
def test_room(store):
    assert store.room(3) in (True, False)
"""


async def test_a_receiver_a_parametrize_list_builds_is_rebuilt_from_its_construction(
    tmp_path: Path,
) -> None:
    repo, base_sha, outcome = await differential_on_change(
        tmp_path, "pkg/store.py", STORE, STORE_HEAD, PARAMETRIZE_TESTS
    )
    assert outcome.written == ["tests/test_pkg_store_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Store(3).room(3) is True" in text, text
