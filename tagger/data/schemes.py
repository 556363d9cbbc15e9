"""Tag schemes: IOB1, IOB2 and BIOES, and plain label sets.

A chunk tag is ``O`` or ``PREFIX-TYPE``; sequences are read into spans as conlleval reads them, and conversions
go through spans. A tag set of another shape (part-of-speech tags) is a plain label set, ``PLAIN``: tags are kept
as they are and any tag may follow any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

IOB1 = "iob1"
IOB2 = "iob2"
BIOES = "bioes"
PLAIN = "plain"
SCHEMES = (IOB1, IOB2, BIOES)  # the chunk schemes
DATA_SCHEMES = SCHEMES + (PLAIN,)  # what --scheme takes: a chunk scheme, or plain labels
PLAIN_AT_MOST = 0.01  # the share of chunk-shaped tag occurrences up to which a tag set is detected as plain

PREFIXES = {IOB1: "BI", IOB2: "BI", BIOES: "BIES"}

Span = tuple[str, int, int]  # (type, start, end) with end exclusive


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``."""
    if tag == "O":
        return "O", ""
    return tag[0], tag[2:]


def entity_types(tags: Sequence[str]) -> list[str]:
    """The entity types of a tag set, sorted (``B-PER``, ``I-PER`` -> ``PER``)."""
    return sorted({split_tag(tag)[1] for tag in tags if tag != "O"})


def tag_problem(tag: str, scheme: str | None = None) -> str | None:
    """Why ``tag`` is not a tag of ``scheme`` (any scheme when None), or None."""
    if tag == "O":
        return None
    allowed = "BIES" if scheme is None else PREFIXES[scheme]
    if len(tag) < 3 or tag[1] != "-" or tag[0] not in allowed:
        shapes = "O, " + ", ".join(f"{p}-TYPE" for p in allowed)
        return f"{tag!r} is not a tag (expected {shapes})"
    return None


def is_chunk_tag(tag: str) -> bool:
    """``tag`` is ``O`` or ``PREFIX-TYPE`` with a prefix of any chunk scheme."""
    return tag_problem(tag) is None


def detect_kind(sequences: Iterable[Sequence[str]]) -> str:
    """``PLAIN`` when at most 1% of the tag occurrences are chunk-shaped (``O``, ``B-X``), else ``"chunks"``:
    chunk data with many stray tags (``B_PER``) stays chunk data, so those are errors naming their lines."""
    chunk_shaped = other = 0
    for tags in sequences:
        for tag in tags:
            if is_chunk_tag(tag):
                chunk_shaped += 1
            else:
                other += 1
    return PLAIN if other and chunk_shaped <= PLAIN_AT_MOST * (chunk_shaped + other) else "chunks"


def detect_scheme(sequences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of some tag sequences: BIOES for any ``E-``/``S-``, else IOB1 where more chunks start
    with ``I-`` than with ``B-``, else IOB2."""
    b_starts = i_starts = 0
    for tags in sequences:
        prev = "O"
        for tag in tags:
            prefix, kind = split_tag(tag)
            if prefix in "ES":
                return BIOES
            prev_prefix, prev_kind = split_tag(prev)
            continues = prev_prefix != "O" and prev_kind == kind
            if prefix == "B" and not continues:
                b_starts += 1
            elif prefix == "I" and not continues:
                i_starts += 1
            prev = tag
    return IOB1 if i_starts > b_starts else IOB2


def labels(tags: Iterable[str], scheme: str) -> set[str]:
    """What a tag set labels: entity types of a chunk scheme (``B-PER`` -> ``PER``), the tags of ``PLAIN``."""
    if scheme == PLAIN:
        return set(tags)
    return {split_tag(t)[1] for t in tags if t != "O"}


def to_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans of a tag sequence in any scheme, read as conlleval does."""
    spans: list[Span] = []
    start, kind, prev_prefix = -1, "", "O"
    for i, tag in enumerate(tags):
        prefix, this_kind = split_tag(tag)
        open_chunk = start >= 0
        starts = prefix in "BS" or (prefix in "IE" and (not open_chunk or this_kind != kind or prev_prefix in "ES"))
        if open_chunk and (prefix == "O" or starts):
            spans.append((kind, start, i))
            start = -1
        if starts:
            start, kind = i, this_kind
        if start >= 0 and prefix in "ES":
            spans.append((kind, start, i + 1))
            start = -1
        prev_prefix = prefix
    if start >= 0:
        spans.append((kind, start, len(tags)))
    return spans


def from_spans(spans: Iterable[Span], length: int, scheme: str) -> list[str]:
    """Write spans as a tag sequence of ``length`` in ``scheme``."""
    tags = ["O"] * length
    prev_end, prev_kind = -1, ""
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        if scheme == BIOES:
            if end - start == 1:
                tags[start] = f"S-{kind}"
            else:
                tags[start] = f"B-{kind}"
                for i in range(start + 1, end - 1):
                    tags[i] = f"I-{kind}"
                tags[end - 1] = f"E-{kind}"
        else:
            first = "B"
            if scheme == IOB1 and not (start == prev_end and kind == prev_kind):
                first = "I"
            tags[start] = f"{first}-{kind}"
            for i in range(start + 1, end):
                tags[i] = f"I-{kind}"
        prev_end, prev_kind = end, kind
    return tags


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """Rewrite a tag sequence (any chunk scheme) in ``scheme``; ``PLAIN`` keeps the tags as they are."""
    if scheme == PLAIN:
        return list(tags)
    return from_spans(to_spans(tags), len(tags), scheme)


def invalid_positions(tags: Sequence[str], scheme: str) -> list[int]:
    """Positions where ``tags`` breaks the rules of ``scheme``."""
    allowed, start_ok, end_ok = transition_rules(scheme)
    bad = []
    prev = None
    for i, tag in enumerate(tags):
        if (prev is None and not start_ok(tag)) or (prev is not None and not allowed(prev, tag)):
            bad.append(i)
        prev = tag
    if prev is not None and not end_ok(prev) and bad[-1:] != [len(tags) - 1]:
        bad.append(len(tags) - 1)
    return bad


def transition_rules(scheme: str):
    """Three predicates for ``scheme``: allowed(prev, tag), may_start(tag), may_end(tag)."""
    if scheme == BIOES:

        def allowed(prev: str, tag: str) -> bool:
            p_prefix, t_prefix = split_tag(prev)[0], split_tag(tag)[0]
            if p_prefix in "BI":
                return t_prefix in "IE" and _inside(prev, tag)
            return t_prefix in "OBS"

        def may_start(tag: str) -> bool:
            return split_tag(tag)[0] in "OBS"

        def may_end(tag: str) -> bool:
            return split_tag(tag)[0] in "OES"

        return allowed, may_start, may_end
    if scheme not in (IOB1, IOB2, PLAIN):
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    # IOB2's I and IOB1's B only continue a chunk of their type; a plain label set has no such tag
    prefix = {IOB1: "B", IOB2: "I", PLAIN: None}[scheme]

    def allowed(prev: str, tag: str) -> bool:
        return split_tag(tag)[0] != prefix or _inside(prev, tag)

    def may_start(tag: str) -> bool:
        return split_tag(tag)[0] != prefix

    return allowed, may_start, lambda tag: True


def _inside(prev: str, tag: str) -> bool:
    """``tag`` continues the chunk that ``prev`` is in."""
    p_prefix, p_kind = split_tag(prev)
    return p_prefix != "O" and p_kind == split_tag(tag)[1]


def tag_set(types: Iterable[str], scheme: str) -> list[str]:
    """All tags of ``scheme`` over entity ``types``, ``O`` first; for ``PLAIN`` the labels ``types``, sorted."""
    if scheme == PLAIN:
        return sorted(set(types))
    return ["O"] + [f"{p}-{t}" for t in sorted(set(types)) for p in PREFIXES[scheme]]
