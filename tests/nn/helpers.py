"""Sentences the model-file and ensemble tests tag with the small trained model."""

from __future__ import annotations

# Names it was trained on, words it never saw, a single token.
SENTENCES_TO_TAG = [
    ["John", "Smith", "lives", "in", "Paris", "."],
    ["Acme", "Corp", "hired", "Angela", "Merkel", "in", "New", "York", "."],
    ["Unseen", "Wordz", "near", "Lake", "Tahoe"],
    ["Mary"],
]
