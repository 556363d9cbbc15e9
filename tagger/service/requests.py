"""Reading a ``POST /tag`` body into a checked ``Job``, or a ``RequestError`` with its status and one line.

The statuses: 400 for what is not JSON (bad UTF-8, bad syntax, nesting too deep to read), 413 for a body,
a text or a number of texts over the limits, 422 for JSON of the wrong shape (a missing or unknown field,
a wrong type, an empty text or token). No request gets as far as the model without passing here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tagger.nn.config import SCORES
from tagger.service.model import Job, Options

INPUT_FIELDS = ("text", "texts", "tokens")
OPTION_FIELDS = ("scores", "nbest")


@dataclass(frozen=True)
class Limits:
    """What one request may hold (the defaults of ``tagger serve``)."""

    body_bytes: int = 1 << 20  # 1 MiB
    texts: int = 1000  # texts of "texts", sentences of "tokens"
    text_chars: int = 100_000  # characters of one text
    tokens: int = 1000  # tokens of one sentence of "tokens"
    nbest: int = 10
    body_seconds: float = 10.0  # to send the body, once the headers are in


class RequestError(Exception):
    """A request the service refuses: ``status`` and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def parse(body: bytes, limits: Limits) -> Job:
    """The job a ``POST /tag`` body asks for, checked against ``limits``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"the body is not UTF-8: byte {e.start} is {body[e.start : e.start + 1]!r}") from None
    try:
        found = json.loads(text)
    except json.JSONDecodeError as e:
        raise RequestError(400, f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise RequestError(400, "the body is not JSON this service reads: nested too deep") from None
    if not isinstance(found, dict):
        raise RequestError(422, f'the body must be a JSON object such as {{"text": "..."}}; got {_kind(found)}')
    unknown = sorted(set(found) - set(INPUT_FIELDS) - set(OPTION_FIELDS))
    if unknown:
        raise RequestError(422, f"unknown field {unknown[0]!r}; known: {', '.join(INPUT_FIELDS + OPTION_FIELDS)}")
    given = [name for name in INPUT_FIELDS if name in found]
    if len(given) != 1:
        raise RequestError(422, 'give exactly one of "text", "texts" or "tokens"')
    kind = given[0]
    options = _options(found, limits)
    if kind == "tokens":
        return _tokens(found["tokens"], options, limits)
    items = [found["text"]] if kind == "text" else _list(found["texts"], "texts", limits)
    for i, item in enumerate(items):  # a blank item of a list gets its empty result, as ``Tagger.pipe`` gives one
        _check_text(item, "text" if kind == "text" else f"texts[{i}]", limits, blank=kind == "texts")
    return _texts(kind, items, options)


def text_job(text: object, limits: Limits) -> Job:
    """The job of one text (the page's), checked as a request's ``"text"``."""
    _check_text(text, "text", limits)
    return _texts("text", [text], Options())


def _texts(kind: str, items: list[str], options: Options) -> Job:
    # As the reading path counts them: a text's lines, and the line end and blank line that end its document.
    lines = sum(item.count("\n") + 2 for item in items)
    return Job(kind, items, options, lines=lines, chars=sum(len(item) + 2 for item in items))


def _options(found: dict, limits: Limits) -> Options:
    scores, nbest = found.get("scores"), found.get("nbest", 0)
    if scores is not None and scores not in SCORES:
        raise RequestError(422, f'"scores" must be one of {", ".join(SCORES)} (or null); got {_shown(scores)}')
    if isinstance(nbest, bool) or not isinstance(nbest, int) or not 0 <= nbest <= limits.nbest:
        raise RequestError(422, f'"nbest" must be an integer from 0 to {limits.nbest}; got {_shown(nbest)}')
    return Options(scores, nbest)


def _list(value: object, name: str, limits: Limits) -> list:
    if not isinstance(value, list):
        raise RequestError(422, f'"{name}" must be a list; got {_kind(value)}')
    if not value:
        raise RequestError(422, f'"{name}" is empty')
    if len(value) > limits.texts:
        raise RequestError(413, f'"{name}" has {len(value)} items; at most {limits.texts} in one request')
    return value


def _check_text(value: object, name: str, limits: Limits, blank: bool = False) -> None:
    """``blank``: a text of only whitespace is one (it has no sentences); else it is a request with no text (422)."""
    if not isinstance(value, str):
        raise RequestError(422, f'"{name}" must be a string; got {_kind(value)}')
    if not blank and not value.strip():
        raise RequestError(422, f'"{name}" is empty')
    if len(value) > limits.text_chars:
        raise RequestError(413, f'"{name}" has {len(value)} characters; at most {limits.text_chars}')
    _utf8(value, name)


def _tokens(value: object, options: Options, limits: Limits) -> Job:
    sentences = _list(value, "tokens", limits)
    chars = 0
    for i, tokens in enumerate(sentences):
        name = f"tokens[{i}]"
        if not isinstance(tokens, list) or not tokens:
            raise RequestError(422, f'"{name}" must be a non-empty list of tokens; got {_shown(tokens)}')
        if len(tokens) > limits.tokens:
            raise RequestError(413, f'"{name}" has {len(tokens)} tokens; at most {limits.tokens}')
        for token in tokens:
            if not isinstance(token, str) or not token or token != token.strip() or len(token.split()) != 1:
                raise RequestError(422, f'"{name}" has a token that is not a non-empty word: {_shown(token)}')
            _utf8(token, name)
            chars += len(token) + 1
    return Job("tokens", sentences, options, lines=len(sentences), chars=chars)


def _utf8(value: str, name: str) -> None:
    """JSON may spell a lone surrogate (``"\\ud800"``), which is no character and cannot be tagged."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RequestError(422, f'"{name}" holds a lone surrogate at character {e.start}') from None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _shown(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
