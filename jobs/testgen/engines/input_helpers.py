"""Small classes a generated call may use as an input where the project's own inputs cannot
show an edge case: each is defined in the test file that uses it (:func:`.characterize.render`)
and in the probe's namespace (:mod:`.characterize_probe`), so the call a test makes is the call
the engine ran. Pure data: names and their source.

``WrongLenList`` is a list whose ``len()`` is off by a given amount. Code that trusts
``__len__`` over what iteration yields (slicing a chunk by ``len(seq) % n``, preallocating by
``len``) behaves differently on it; a change that starts checking for it (toolz's
``partition_all`` now raises ``LookupError``) differs from its base only on such an input,
which no well-behaved sequence of the project's tests is.

``with_attributes(obj, NAME=VALUE)`` sets an attribute on an object and returns it: a test that
set a property after building its object (``t.title = 'x'``) is replayed by its construction
only, and the state a changed method reads is given this way (:mod:`.receiver_settings`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WRONG_LEN = "WrongLenList"
WITH_ATTRIBUTES = "with_attributes"

HELPERS: dict[str, str] = {
    WRONG_LEN: '''class WrongLenList(list):
    """A list whose len() is off by `off` from the items it iterates over."""

    def __init__(self, items, off):
        super().__init__(items)
        self.off = off

    def __len__(self):
        return super().__len__() + self.off
''',
    WITH_ATTRIBUTES: '''def with_attributes(obj, **values):
    """`obj` after `obj.NAME = VALUE` for each NAME=VALUE given (through its own setters)."""
    for name, value in values.items():
        setattr(obj, name, value)
    return obj
''',
}


def helpers_used(names: Iterable[str]) -> tuple[str, ...]:
    """The helpers among `names`, sorted."""
    return tuple(sorted(n for n in set(names) if n in HELPERS))


@dataclass(frozen=True, order=True)
class Defined:
    """A class one of the project's test modules defines, whose instance a captured call takes
    as an input (a ``Mapping`` subclass, an object with its own ``__str__``): it rebuilds only
    where the class exists, so the probe defines it from ``source`` before the call, and a test
    that uses the call defines it at the top of its file. ``needs`` are the names its source
    uses that the generated test imports: ``(name, "module")`` from the changed module,
    ``(name, "stdlib")`` as ``import name``."""

    name: str
    source: str
    needs: tuple[tuple[str, str], ...] = ()
