"""Decoded tag ids back to tags in the scheme of the training data, by the cheapest route that gives what
``schemes.convert`` gives: shared by the torch predictor and the exported model's (no torch here)."""

from __future__ import annotations

from collections.abc import Callable

from tagger.data.schemes import BIOES, IOB1, IOB2, convert

__all__ = ["bioes_to_iob1", "output_rewrite", "per_tag_map"]


def output_rewrite(
    tags: list[str], scheme: str, constrained: bool, out_scheme: str
) -> Callable[[list[int]], list[str]]:
    """Decoded tag ids (of ``tags``, a model's, in ``scheme``; ``constrained``: its decoding is) to tags in
    ``out_scheme``, as ``schemes.convert`` gives them, by the cheapest
    route that gives the same: a tag-by-tag map, a one-pass IOB1 rewrite, or the conversion itself."""
    mapping = per_tag_map(tags, scheme, constrained, out_scheme)
    if mapping is not None:
        return lambda ids: [mapping[t] for t in ids]
    return bioes_to_iob1(tags, scheme, constrained, out_scheme) or (
        lambda ids: convert([tags[t] for t in ids], out_scheme)
    )


def per_tag_map(tags: list[str], scheme: str, constrained: bool, out_scheme: str) -> list[str] | None:
    """A tag-by-tag rewrite into ``out_scheme`` where one gives what ``schemes.convert`` gives.

    That holds for the same scheme, and for BIOES to IOB2 when decoding is
    constrained (so sequences are valid BIOES); IOB1 needs context.
    """
    if scheme == out_scheme and constrained:
        return list(tags)
    if scheme == BIOES and out_scheme == IOB2 and constrained:
        return [t if t == "O" else ("B" if t[0] in "BS" else "I") + t[1:] for t in tags]
    return None


def bioes_to_iob1(
    tags: list[str], scheme: str, constrained: bool, out_scheme: str
) -> Callable[[list[int]], list[str]] | None:
    """For a constrained BIOES model and IOB1 output (CoNLL-2003's scheme): tag ids to what
    ``schemes.convert`` gives, in one pass with tables instead of spans (B-X only where an
    X entity starts right after another X entity ends)."""
    if not (scheme == BIOES and out_scheme == IOB1 and constrained):
        return None
    kind = [None if t == "O" else t[2:] for t in tags]
    starts = [t[0] in "BS" and t != "O" for t in tags]
    ends = [t[0] in "ES" and t != "O" for t in tags]
    inside = ["O" if t == "O" else "I-" + t[2:] for t in tags]
    begin = ["O" if t == "O" else "B-" + t[2:] for t in tags]

    def rewrite(ids: list[int]) -> list[str]:
        out = []
        ended = None  # the type of an entity that ended at the previous token
        for t in ids:
            out.append(begin[t] if starts[t] and kind[t] == ended else inside[t])
            ended = kind[t] if ends[t] else None
        return out

    return rewrite
