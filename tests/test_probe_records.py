"""What the probe's records may hold (:mod:`jobs.testgen.engines.probe_records`, pure)."""

from __future__ import annotations

from jobs.testgen.engines.probe_records import expected_ok


def test_a_type_hints_repr_is_a_value_a_test_can_assert() -> None:
    # dacite's extract_optional(Optional[Union[int, str]]) returns typing.Union[int, str] now.
    assert expected_ok("typing.Union[int, str]", [["typing", "stdlib"]])
    assert expected_ok("list[int]", [])
    assert expected_ok("typing.Callable[[int], str]", [["typing", "stdlib"]])
    # a name it needs must be imported; a subscript of a call or of a comprehension is no repr
    assert not expected_ok("typing.Union[int, str]", [])
    assert not expected_ok("__import__('os')[0]", [])
    assert not expected_ok("[x for x in ()][0]", [])
    assert not expected_ok("typing.Union[int, NoneType]", [["typing", "stdlib"]])
