"""Vocabularies: words, characters and tags to indices, and back.

Word keys have digits folded to ``0`` and are lowercased by default (the
character encoder and the case feature keep what that throws away); a
vocabulary that keeps case looks a word up as written, then lowercased (the
form pretrained lowercase vectors are kept under). Index 0 is padding and
index 1 the unknown word or character.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD, UNK = 0, 1
_DIGITS = re.compile(r"\d")

# Case classes of a token, index 0 being padding.
CASES = ("pad", "lower", "title", "upper", "mixed", "digits", "other")


def word_key(token: str, lowercase: bool = True) -> str:
    """The form a word is looked up under: every digit a 0, and lowercase unless ``lowercase`` is off."""
    return _DIGITS.sub("0", token.lower() if lowercase else token)


def case_of(token: str) -> int:
    """Index of the case class of ``token`` in ``CASES``."""
    if token.isdigit():
        return 5
    if not any(c.isalpha() for c in token):
        return 6
    if token.islower():
        return 1
    if token.isupper():
        return 3
    if token[0].isupper() and token[1:].islower():
        return 2
    return 4


@dataclass
class Vocabulary:
    """Index tables of a model; plain lists, so they save as plain data."""

    words: list[str]
    chars: list[str]
    tags: list[str]
    word_counts: list[int] = field(default_factory=list)
    lowercase: bool = True  # word keys lowercased; otherwise kept as written, with a lowercase fallback

    def __post_init__(self) -> None:
        # dict(zip(...)) builds the index about twice as fast as a comprehension: a large vocabulary (a shipped
        # model keeps ~100,000 words of pretrained vectors) is indexed at every load
        self.word_index = dict(zip(self.words, range(len(self.words))))
        self.char_index = {c: i for i, c in enumerate(self.chars)}
        self.tag_index = {t: i for i, t in enumerate(self.tags)}

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        tags: Sequence[str],
        extra_words: Iterable[str] = (),
        lowercase: bool = True,
    ) -> Vocabulary:
        """Words and characters of the training sentences (most frequent first), then ``extra_words``."""
        words: Counter[str] = Counter()
        chars: Counter[str] = Counter()
        for tokens in sentences:
            for token in tokens:
                words[word_key(token, lowercase)] += 1
                chars.update(token)
        word_list = ["\x00<pad>", "\x00<unk>"] + [w for w, _ in words.most_common()]
        counts = [0, 0] + [c for _, c in words.most_common()]
        seen = set(word_list)
        for word in extra_words:
            if word not in seen:
                seen.add(word)
                word_list.append(word)
                counts.append(0)
        char_list = ["\x00<pad>", "\x00<unk>"] + [c for c, _ in chars.most_common()]
        return cls(word_list, char_list, list(tags), counts, lowercase)

    def word_id(self, token: str) -> int:
        found = self.word_index.get(word_key(token, self.lowercase))
        if found is None and not self.lowercase:
            found = self.word_index.get(word_key(token))
        return UNK if found is None else found

    def char_ids(self, token: str) -> list[int]:
        index = self.char_index
        return [index.get(c, UNK) for c in token]

    def to_dict(self) -> dict:
        """Plain data for the model file. The word list is one newline-joined string and the counts
        one block of bytes: a model file's loader reads each as one object, where a list costs one
        step per word, paid at every start of the tagger. Words never hold a newline (tokens are
        split on whitespace); a list is kept if one ever does."""
        joined = "\n".join(self.words)
        return {
            "words": joined if joined.count("\n") == len(self.words) - 1 else self.words,
            "chars": self.chars,
            "tags": self.tags,
            "word_counts": _pack_counts(self.word_counts),
            "lowercase": self.lowercase,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        """Reads ``to_dict``'s data, and the plain lists of model files written before it."""
        words = data["words"].split("\n") if isinstance(data["words"], str) else list(data["words"])
        counts = data.get("word_counts", [])
        counts = _unpack_counts(counts) if isinstance(counts, bytes) else list(counts)
        chars, tags = list(data["chars"]), list(data["tags"])
        return cls(words, chars, tags, counts, bool(data.get("lowercase", True)))


def _pack_counts(counts: Sequence[int]) -> bytes:
    """Counts as 64-bit little-endian integers, whatever the machine's byte order."""
    packed = array("q", counts)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack_counts(data: bytes) -> list[int]:
    packed = array("q")
    packed.frombytes(data)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()
