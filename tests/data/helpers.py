"""Hypothesis strategies the property tests of the reader, the corpus loader and the schemes share."""

from __future__ import annotations

from hypothesis import strategies as st

TYPES = ["PER", "LOC", "ORG", "MISC-X"]
tags = st.one_of(st.just("O"), st.builds(lambda p, t: f"{p}-{t}", st.sampled_from("BIES"), st.sampled_from(TYPES)))

# Lines of CoNLL-like bytes, valid or not: the reader and the corpus loader raise DataError or nothing.
lines = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from(
            [b"", b" ", b"\t", b"\r", b"\xef\xbb\xbf", b"\xc2\xa0", b"\xe2\x80\xa8", b"\x1c", b"\x85", b"\xff"]
        ),
        st.builds(
            lambda token, tag, sep: token + sep + tag,
            st.sampled_from([b"Mary", b"-DOCSTART-", b"\xc3\xa9", b"x\xe2\x80\x8by", b"\xf0\x9f\x98\x80"]),
            st.sampled_from([b"O", b"B-PER", b"I-PER", b"E-LOC", b"S-X", b"B-", b"0", b"B_PER", b"PER", b"O O"]),
            st.sampled_from([b"\t", b" ", b" \t", b"\t\t"]),
        ),
    ),
    max_size=12,
)
