"""Tagging texts and token lists held in memory (``Tagger``'s). Texts go through ``tagger tag``'s reading path
(``inputs.read_windows``, ``stream.tag_stream``) as one stream, so both give the same tokens, tags and offsets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from io import BytesIO

from tagger.data.inputs import read_windows
from tagger.data.types import Doc, TaggedSentence
from tagger.data.windows import WINDOW, token_windows
from tagger.tagging.arguments import shown
from tagger.tagging.predictor import Predictor
from tagger.tagging.stream import tag_stream

__all__ = ["tag_texts", "tag_tokens"]


def tag_texts(predictor: Predictor, texts: list[str]) -> Iterator[Doc]:
    """Each text's ``Doc``, its offsets counted from its own start; no document runs on into the next text."""
    data, starts, marks = _joined(texts, apart=predictor.window_maker.context)
    windows = read_windows(BytesIO(data), "<text>", "text", predictor.window_maker, workers=0)
    docs = [Doc(text) for text in texts]
    index = 0
    for sentence in tag_stream(predictor, windows):
        while sentence.text_start >= starts[index + 1]:
            yield docs[index]
            index += 1
        sentence.text_start += marks[index] - starts[index]
        docs[index].sentences.append(sentence)
    yield from docs[index:]


def _joined(texts: list[str], apart: bool = False) -> tuple[bytes, list[int], list[int]]:
    """The texts as one UTF-8 stream, a line end after each that lacks one (and with ``apart`` a blank
    line after each: a document ends there); where each text starts in it (in characters; one more entry
    for the end); and 1 for a text that starts with a byte-order mark, else 0.

    A byte-order mark that starts a text is left out of the stream, as the command line's reader
    drops one that starts its input (so both read the same text), and counted back into the text's
    offsets, which count every character of it.
    """
    parts, starts, marks, at = [], [0], [], 0
    for i, text in enumerate(texts):
        marks.append(1 if text.startswith("\ufeff") else 0)
        text = text[marks[-1] :]
        if text and not text.endswith("\n"):
            text += "\n"
        if apart:
            text += "\n"
        if at == 0 and text.startswith("\ufeff"):  # the reader would drop it as the stream's mark: give it one
            parts.append("\ufeff".encode())
        try:
            parts.append(text.encode("utf-8"))
        except UnicodeEncodeError as err:
            raise ValueError(
                f"text {i} cannot be written as UTF-8: {text[err.start]!r} at character {err.start + marks[-1]} "
                "(a lone surrogate)"
            ) from None
        at += len(text)
        starts.append(at)
    return b"".join(parts), starts, marks


def tag_tokens(predictor: Predictor, sentences: object, docs: object = None) -> list[TaggedSentence]:
    """``Tagger.tag_tokens``: the token lists and ``docs`` checked before any tagging."""
    checked = _token_lists(sentences)
    if docs is not None:
        docs = _documents(docs, len(checked))
    untagged = [TaggedSentence(tokens, []) for tokens in checked]
    return list(tag_stream(predictor, token_windows(untagged, predictor.window_maker, docs, WINDOW)))


def _token_lists(sentences: object) -> list[list[str]]:
    if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Sequence):
        raise TypeError(f'tag_tokens() takes a list of token lists, e.g. [["John", "lives"]]; got {shown(sentences)}')
    checked = []
    for i, tokens in enumerate(sentences):
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise TypeError(f"tag_tokens(): sentence {i} is not a list of tokens: {shown(tokens)}")
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tag_tokens(): sentence {i} has a token that is not a str: {shown(token)}")
            if not token:
                raise ValueError(f"tag_tokens(): sentence {i} has an empty token: {shown(tokens)}")
        checked.append(list(tokens))
    return checked


def _documents(docs: object, count: int) -> Sequence:
    if isinstance(docs, (str, bytes)) or not isinstance(docs, Sequence):
        raise TypeError(f"tag_tokens(): docs must be a list of document numbers, one per sentence; got {shown(docs)}")
    if len(docs) != count:
        raise ValueError(f"tag_tokens(): {len(docs)} document numbers (docs) for {count} sentences")
    return docs
