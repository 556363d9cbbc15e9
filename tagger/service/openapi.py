"""The service's OpenAPI 3.1 description, served at ``/openapi.json``."""

from __future__ import annotations

from tagger import __version__
from tagger.nn.config import SCORES

_ERROR = {
    "description": "A one-line error",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
        }
    },
}
_RECORD = {
    "type": "object",
    "description": "A sentence as `tagger tag --format jsonl` writes it.",
    "properties": {
        "tokens": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "entities": {"type": "array", "items": {"type": "object"}},
        "offsets": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "token_scores": {"type": "array", "items": {"type": "number"}},
        "probability": {"type": "number"},
        "nbest": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["tokens", "tags", "entities"],
}
_SENTENCES = {"type": "object", "properties": {"sentences": {"type": "array", "items": _RECORD}}}
_REQUEST = {
    "type": "object",
    "description": 'Exactly one of "text", "texts" or "tokens"; "scores" and "nbest" as `tagger tag` takes them.',
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "texts": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        "tokens": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            "minItems": 1,
        },
        "scores": {"enum": [*SCORES, None]},
        "nbest": {"type": "integer", "minimum": 0},
    },
    "additionalProperties": False,
}


def _get(summary: str, content: str = "application/json") -> dict:
    return {"get": {"summary": summary, "responses": {"200": {"description": "OK", "content": {content: {}}}}}}


SCHEMA = {
    "openapi": "3.1.0",
    "info": {"title": "tagger serve", "version": __version__},
    "paths": {
        "/tag": {
            "post": {
                "summary": "Tag texts or token lists",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST}}},
                "responses": {
                    "200": {
                        "description": '"text" and "tokens": {"sentences": [...]}; "texts": {"results": [...]}, '
                        "one {sentences} per text",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "sentences": _SENTENCES["properties"]["sentences"],
                                        "results": {"type": "array", "items": _SENTENCES},
                                    },
                                }
                            }
                        },
                    },
                    **{code: _ERROR for code in ("400", "408", "413", "422", "503")},
                },
            }
        },
        "/": _get("The page: a text box and the tagged text", "text/html"),
        "/health": _get("Alive"),
        "/ready": _get("The model is loaded (503 while it is not, or while the server stops)"),
        "/info": _get("What `tagger info --format json` shows of the model"),
        "/metrics": _get("Request count, latency and batch sizes, in Prometheus text", "text/plain"),
        "/openapi.json": _get("This description"),
    },
}
