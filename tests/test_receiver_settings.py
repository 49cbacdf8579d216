"""What a changed method reads on its receiver, set before a known call
(:mod:`jobs.testgen.engines.receiver_settings`, pure), and the helper that sets it, run."""

from __future__ import annotations

from jobs.testgen.engines import input_helpers, receiver_settings, typed_inputs
from jobs.testgen.engines.callables import ChangedCallable, describe_callables

FRAME, ALL = 0, 1

BASE = """from html import escape

FRAME = 0
ALL = 1


class Table:
    def __init__(self, names):
        self.names = names
        self.padding = 1
        self._title = ""
        self._limit = 0
        self._rules = FRAME
        self._attributes = {}

    @property
    def title(self):
        return self._title

    @title.setter
    def title(self, val):
        self._title = str(val)

    @property
    def limit(self):
        return self._limit

    @limit.setter
    def limit(self, val):
        self._limit = val

    @property
    def rules(self):
        return self._rules

    @rules.setter
    def rules(self, val):
        self._rules = val

    @property
    def attributes(self):
        return self._attributes

    @attributes.setter
    def attributes(self, val):
        self._attributes = val

    def options(self):
        return {"rules": self._rules, "title": self._title, "attributes": self._attributes}

    def render(self):
        options = self.options()
        widths = [len(n) for n in self.names]
        title = options["title"] or self._title
        if self._limit and sum(widths) > self._limit:
            widths = [w * self._limit // sum(widths) for w in widths]
        head = f"<caption>{title}</caption>"
        tag = "".join(f" {k}={options['attributes'][k]}" for k in options["attributes"])
        return tag + head + "|".join(n[:w] for n, w in zip(self.names, widths))
"""

HEAD = BASE.replace(
    "            widths = [w * self._limit // sum(widths) for w in widths]\n",
    "            rulers = 2 if options['rules'] == FRAME else 0\n"
    "            rulers = len(widths) - 1 if options['rules'] == ALL else rulers\n"
    "            widths = [max(1, w * (self._limit - rulers) // sum(widths))\n"
    "                      for w in widths]\n",
).replace('head = f"<caption>{title}</caption>"', 'head = f"<caption>{escape(title)}</caption>"')
HEAD = HEAD.replace("{options['attributes'][k]}", "{escape(options['attributes'][k])}")


def render_item() -> ChangedCallable:
    return {c.qualname: c for c in describe_callables(HEAD)}["Table.render"]


def test_the_settings_are_what_the_changed_lines_read_with_values_their_uses_tell() -> None:
    settings = receiver_settings.settings(render_item(), HEAD, BASE)
    assert settings == [
        # compared to the module's constants: each of them
        receiver_settings.Setting("rules", ("FRAME", "ALL")),
        # in arithmetic and an order comparison: sizes
        receiver_settings.Setting("limit", receiver_settings.SIZES),
        # through `title = options["title"] or self._title`, formatted into a string
        receiver_settings.Setting("title", receiver_settings.STRINGS),
        # looked up by a computed key: a mapping
        receiver_settings.Setting("attributes", receiver_settings.MAPPINGS),
    ]


def test_unchanged_reads_and_private_attributes_are_not_set() -> None:
    names = {s.name for s in receiver_settings.settings(render_item(), HEAD, BASE)}
    assert "names" not in names  # read on unchanged lines only
    assert "padding" not in names and "_limit" not in names


def test_the_known_calls_receiver_is_wrapped() -> None:
    calls = receiver_settings.variants(
        "Table(['ab', 'cd']).render()",
        render_item(),
        HEAD,
        BASE,
    )
    assert calls[:3] == [
        "with_attributes(Table(['ab', 'cd']), rules=FRAME).render()",
        "with_attributes(Table(['ab', 'cd']), limit=10).render()",
        "with_attributes(Table(['ab', 'cd']), title='A & B <c> \"d\"').render()",
    ]
    assert len(calls) <= receiver_settings.MAX_PER_CALL
    # typed_inputs offers them too, with the parameters' own values
    offered = typed_inputs.variants("Table(['ab', 'cd']).render()", render_item(), HEAD, BASE)
    assert calls[0] in offered


def test_a_call_not_made_on_the_class_or_a_function_gets_none() -> None:
    item = render_item()
    assert receiver_settings.variants("build().render()", item, HEAD, BASE) == []
    function = describe_callables("def f(x):\n    return x.a\n")[0]
    assert receiver_settings.variants("f(1)", function, "def f(x):\n    return x.a\n") == []


def test_the_calls_tell_base_from_head_when_run() -> None:
    # The helper as the probe and the generated test define it, on both versions of the class.
    def run(source: str, call: str) -> object:
        scope: dict[str, object] = {}
        exec(compile(source, "<m>", "exec"), scope)
        exec(compile(input_helpers.HELPERS[input_helpers.WITH_ATTRIBUTES], "<h>", "exec"), scope)
        return eval(call, scope)

    call = "Table(['abcd', 'efgh']).render()"
    calls = receiver_settings.variants(call, render_item(), HEAD, BASE)
    differing = [c for c in calls if run(HEAD, c) != run(BASE, c)]
    assert "with_attributes(Table(['abcd', 'efgh']), title='A & B <c> \"d\"').render()" in differing
    assert any("limit=" in c for c in differing)
    assert any("attributes=" in c for c in differing)
