"""Runs inside the sandbox beside ``capture_calls.py`` (copied next to it as
``capture_built.py``): how the objects the tests build were constructed, so that an object
whose repr is not code can still be written as the call that made it.

A test often builds the receiver of a changed method where the captured call cannot see it:
in a pytest fixture, in a unittest ``setUp`` (``self.store = Store(3)``). Its default repr
carries an address, so neither the method's own call nor the test's expression rebuilds it,
and the call was lost. Here each ``__init__`` of the classes the changed module holds (and
their bases of the same package) is watched with ``sys.monitoring``'s PY_START: the outermost
one to start on an object notes the object and its arguments. When the capture needs the
object as a value, ``Store(3)`` is written for it, with arguments that rebuild in turn.

The arguments are read when the text is first asked for, not at construction: most objects
are never asked for, and reading reprs at every construction would slow the tests down. What
the tests did to the object after its construction is not replayed; the rebuilt call is only
an input, run on both commits, so where that state mattered the two just agree. Imports
nothing of Tandem's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import CodeType, FrameType, ModuleType
from typing import Any

# Objects noted at most: those that cannot be weakly referenced are held, so this bounds what
# the capture keeps alive.
MAX_OBJECTS = 5000


class Constructions:
    def __init__(self) -> None:
        self.inits: set[CodeType] = set()
        # id(object) -> (a reference to it, its class's code, positional, keyword arguments).
        self.built: dict[int, tuple[Callable[[], object], list[Any], dict[str, Any]]] = {}
        self.texts: dict[int, str | None] = {}

    def codes(self, module: ModuleType) -> set[CodeType]:
        """The ``__init__`` codes to watch: those of the classes `module` holds, and of their
        bases, that its top-level package defines."""
        package = module.__name__.split(".")[0]
        for value in list(vars(module).values()):
            if not isinstance(value, type):
                continue
            for cls in value.__mro__:
                if str(getattr(cls, "__module__", "")).split(".")[0] != package:
                    continue
                code = getattr(vars(cls).get("__init__"), "__code__", None)
                if isinstance(code, CodeType):
                    self.inits.add(code)
        return self.inits

    def started(self, code: CodeType, frame: FrameType, bound: Callable[..., Any]) -> None:
        """An ``__init__`` started in `frame`: note its object, once (a subclass's ``__init__``
        starts before the base's it calls). `bound` gives a frame's arguments, receiver first."""
        if len(self.built) >= MAX_OBJECTS or not code.co_argcount:
            return
        positional, keywords = bound(frame)
        if not positional:
            return
        obj = positional.pop(0)
        if self.holder(obj) is not None:
            return
        key = id(obj)
        ref: Callable[[], object]
        try:
            ref = weakref.ref(obj, self.forgetter(key))
        except TypeError:  # no weak references (__slots__): held, within MAX_OBJECTS
            ref = _Held(obj)
        self.built[key] = (ref, positional, keywords)

    def forgetter(self, key: int) -> Callable[[object], None]:
        """What forgets `key`'s object when it dies, before its id can be reused."""

        def forget(_: object) -> None:
            self.built.pop(key, None)
            self.texts.pop(key, None)

        return forget

    def holder(self, obj: object) -> tuple[list[Any], dict[str, Any]] | None:
        found = self.built.get(id(obj))
        if found is None or found[0]() is not obj:  # an id reused by another object
            return None
        return found[1], found[2]

    def text(self, obj: object, class_ref: str | None, arguments: Callable[..., Any]) -> str | None:
        """The construction of `obj` as ``Class(args…)``, when it was noted, its class is
        `class_ref` (a name the module resolves) and `arguments` writes its arguments."""
        key = id(obj)
        if key in self.texts and self.holder(obj) is not None:
            return self.texts[key]
        found = self.holder(obj)
        if found is None or class_ref is None:
            return None
        self.texts[key] = None  # an object among its own arguments: not written
        written = arguments(list(found[0]), dict(found[1]))
        text = None if written is None else f"{class_ref}({written})"
        self.texts[key] = text
        return text


class _Held:
    """A strong reference with a weak reference's call."""

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __call__(self) -> object:
        return self.obj
