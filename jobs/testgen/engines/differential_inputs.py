"""The differential engine's neighbours of its inputs (:mod:`.input_variants`,
:mod:`.source_variants`, :mod:`.typed_inputs`), shared out among the seeds of each callable:
each seed's first neighbour, then each one's second, so no one long call takes a callable's
whole share."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from jobs.testgen.engines import char_classes, input_variants, source_variants, typed_inputs
from jobs.testgen.engines.callables import ChangedCallable
from jobs.testgen.engines.input_helpers import Defined
from jobs.testgen.engines.seeds import Seed, names_in

MAX_VARIANTS_PER_CALLABLE = 120
# Calls with a source argument spelled another way, per callable, beside the other neighbours:
# a source-transforming entry point takes milliseconds a call.
MAX_SOURCE_VARIANTS_PER_CALLABLE = 120
# Calls with a character at the edge of a class the change tests (:mod:`.char_classes`), per
# callable, beside the other neighbours.
MAX_CLASSIFIED_PER_CALLABLE = 120


def variants(
    checkout: Path,
    base_sources: Mapping[str, str | None],
    seeds: set[Seed],
    first: Collection[Seed] = (),
    typed: Mapping[tuple[str, str], ChangedCallable] | None = None,
) -> set[Seed]:
    """Neighbours of the seeds' calls (:mod:`.input_variants`), at most
    MAX_VARIANTS_PER_CALLABLE per callable: each seed's first neighbour, then each one's second,
    and so on, the shortest calls first, so no one long call takes a callable's whole share.
    The seeds in `first` (the captured calls that ran lines no other call ran) have all their
    neighbours taken before any other seed's: forty alike calls would otherwise use up the
    share on their first neighbours, and the one call that reaches the change get none."""
    sides: dict[str, tuple[str, str]] = {}  # path -> (base, head), each read once
    tokens: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]] = {}
    queues: dict[tuple[str, str, bool], list[list[tuple[str, None]]]] = {}
    defines: dict[tuple[str, str, str], tuple[Defined, ...]] = {}
    vias: dict[tuple[str, str, str], str] = {}  # a neighbour is written where its seed is
    for seed in _in_turn_order(seeds, first):
        if seed.path not in sides:
            base = base_sources.get(seed.path) or ""
            head = _read(checkout / seed.path) or ""
            sides[seed.path] = (base, head)
            tokens[seed.path] = (
                input_variants.dictionary(base, head) + input_variants.attribute_names(base, head),
                input_variants.returned_values(base, head),
                input_variants.trusts_len(base, head),
                input_variants.exact_type_classes(base, head),
            )
        base, head = sides[seed.path]
        words, returns, wrong_len, classes = tokens[seed.path]
        calls = input_variants.variants(
            seed.call_source, words, returns, wrong_len=wrong_len, subclassed=classes
        )
        # Values of each parameter's own type (:mod:`.typed_inputs`), first: few, and aimed
        # (not for an entry point's call: the parameters are the target's).
        item = None if seed.via else (typed or {}).get((seed.path, seed.qualname))
        calls = [*typed_inputs.variants(seed.call_source, item, head, base), *calls]
        queues.setdefault((seed.path, seed.qualname, seed not in first), []).append(
            [(call, None) for call in calls]
        )
        for call in calls:  # a neighbour takes the same test-module classes as its seed
            defines.setdefault((seed.path, seed.qualname, call), _defines(seed, call, classes))
            vias.setdefault((seed.path, seed.qualname, call), seed.via)
    chosen: dict[tuple[str, str], dict[str, None]] = {}
    for (path, qualname, _), lists in sorted(queues.items(), key=lambda item: item[0][2]):
        take_in_turn(lists, MAX_VARIANTS_PER_CALLABLE, chosen.setdefault((path, qualname), {}))
    return {
        Seed(
            path,
            qualname,
            call,
            "variant",
            defines[path, qualname, call],
            vias[path, qualname, call],
        )
        for (path, qualname), calls in chosen.items()
        for call in calls
    }


def spelled_variants(
    checkout: Path,
    base_sources: Mapping[str, str | None],
    seeds: set[Seed],
    first: Collection[Seed] = (),
) -> tuple[set[Seed], dict[str, tuple[int, int]]]:
    """The seeds' calls with a Python-source argument spelled another way
    (:mod:`.source_variants`), the kinds the change's tokens name first, at most
    MAX_SOURCE_VARIANTS_PER_CALLABLE per callable beside the other neighbours: each seed's
    first, then each one's second, the calls that ran new lines and then the shortest first.
    And, per callable the cap cut, (tried, made)."""
    return _shared_out(
        checkout, base_sources, _in_turn_order(seeds, first), input_variants.dictionary,
        source_variants.variants, MAX_SOURCE_VARIANTS_PER_CALLABLE,
    )  # fmt: skip


def classified_variants(
    checkout: Path,
    base_sources: Mapping[str, str | None],
    seeds: set[Seed],
    first: Collection[Seed] = (),
) -> set[Seed]:
    """Where the change classifies text (:func:`.char_classes.classifying_chars`), the seeds'
    calls with one string argument given a character at the class's edge, or one number its
    sign flipped, at most MAX_CLASSIFIED_PER_CALLABLE per callable beside the other neighbours
    (whose share the tests' many calls use up on their first few): each seed's first, then
    each one's second, the calls that ran new lines and then the shortest first."""
    found, _ = _shared_out(
        checkout, base_sources, _in_turn_order(seeds, first), char_classes.classifying_chars,
        char_classes.call_variants, MAX_CLASSIFIED_PER_CALLABLE,
    )  # fmt: skip
    return found


def _shared_out(
    checkout: Path,
    base_sources: Mapping[str, str | None],
    ordered: list[Seed],
    tokens_of: Callable[[str, str], tuple[str, ...]],
    variants_of: Callable[[str, tuple[str, ...]], list[str]],
    cap: int,
) -> tuple[set[Seed], dict[str, tuple[int, int]]]:
    """Each seed's calls made by `variants_of` with its module's tokens (`tokens_of` the
    base's and the head's source), at most `cap` per callable: each seed's first, then each
    one's second, in `ordered`'s order. And, per callable the cap cut, (tried, made)."""
    tokens: dict[str, tuple[str, ...]] = {}
    queues: dict[tuple[str, str], list[list[tuple[str, Seed]]]] = {}
    for seed in ordered:
        if seed.path not in tokens:
            base, head = base_sources.get(seed.path) or "", _read(checkout / seed.path) or ""
            tokens[seed.path] = tokens_of(base, head)
        calls = variants_of(seed.call_source, tokens[seed.path])
        if calls:
            queues.setdefault((seed.path, seed.qualname), []).append([(c, seed) for c in calls])
    found: set[Seed] = set()
    cut: dict[str, tuple[int, int]] = {}
    for (_, qualname), lists in queues.items():
        taken: dict[str, Seed] = {}
        take_in_turn(lists, cap, taken)
        found |= {
            Seed(s.path, s.qualname, call, "variant", s.defines, s.via) for call, s in taken.items()
        }
        made = len({call for items in lists for call, _ in items})
        if made > len(taken):
            cut[qualname] = (len(taken), made)
    return found, cut


def _in_turn_order(seeds: Collection[Seed], first: Collection[Seed]) -> list[Seed]:
    """The order seeds' neighbours queue in: the calls that ran new lines, then the shortest."""
    return sorted(seeds, key=lambda s: (s not in first, len(s.call_source), s))


def take_in_turn[K, V](lists: list[list[tuple[K, V]]], cap: int, taken: dict[K, V]) -> None:
    """Each list's first (call, value) into `taken`, then each one's second, and so on, until
    `taken` holds `cap` calls: no one long list takes the whole share."""
    for round_ in range(max((len(items) for items in lists), default=0)):
        for items in lists:
            if round_ < len(items) and len(taken) < cap:
                call, value = items[round_]
                taken.setdefault(call, value)


def _defines(seed: Seed, call: str, classes: tuple[str, ...]) -> tuple[Defined, ...]:
    """The classes `call` (a neighbour of `seed`'s) needs defined: its seed's, and the
    subclasses of the module's classes it was given (:func:`.input_variants.subclass_of`)."""
    names = set(names_in(call))
    own = {d.name for d in seed.defines}
    extra = [
        input_variants.subclass_of(cls)
        for cls in classes
        if input_variants.subclass_name(cls) in names - own
    ]
    return (*seed.defines, *extra)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None
