"""Receivers the tests build where the captured call cannot see how (issue #19): in a pytest
fixture, in a unittest ``setUp``. The object's repr is not code, so neither its method's call nor
the test's expression rebuilds it; the capture writes down how the object was constructed
(its class's ``__init__`` call, with arguments that rebuild) and uses that as the receiver. A
tiny real project with a real git history, its tests run under pytest in the local sandbox."""

from __future__ import annotations

from pathlib import Path

from tests.test_differential_capture import assert_pins, run_engine

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
    repo, base_sha, outcome = await run_engine(
        tmp_path, "pkg/store.py", STORE, STORE_HEAD, FIXTURE_TESTS
    )
    assert outcome.written == ["tests/test_pkg_store_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    # The constructor's arguments as its frame holds them: by position.
    assert "Store(3).room(3) is True" in text, text


async def test_a_receiver_setup_builds_is_rebuilt_from_its_construction(tmp_path: Path) -> None:
    repo, base_sha, outcome = await run_engine(
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
    repo, base_sha, outcome = await run_engine(
        tmp_path, "pkg/gauge.py", GAUGE, GAUGE_HEAD, GAUGE_TESTS
    )
    assert outcome.written == ["tests/test_pkg_gauge_differential_tandem.py"], outcome.notes
    text = await assert_pins(repo, base_sha, outcome.written)
    assert "Gauge(3).high is True" in text, text
