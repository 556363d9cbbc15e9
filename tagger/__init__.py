"""tagger: a BiLSTM-CRF sequence tagger for named-entity recognition."""

__version__ = "0.1.0"
