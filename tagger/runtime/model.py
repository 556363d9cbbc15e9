"""An exported model file (``tagger.nn.export``): read, checked, and run on onnxruntime, without torch.

``load_onnx`` reads the file's metadata (vocabulary, config, scheme, CRF scores and constraints) and makes an
onnxruntime session of its graph; every problem with the file (cut short, of another program, of a newer
format) is one ``ModelFileError`` naming it. ``OnnxModel.emissions`` runs the graph on one batch of
``tagger.data.arrays``'s arrays, ``OnnxModel.window_emissions`` on all of a window's batches, which a model with
document context needs (``runtime.context``).

Format 1 files give ``emissions`` only; format 2 files (document context) also give ``mentions``, which the
runtime pools over the window: a runtime that reads format 1 only refuses them ("newer tagger") rather than tag
without the context. This runtime reads both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.data.vocabulary import Vocabulary
from tagger.errors import ModelFileError
from tagger.runtime.context import window_emissions
from tagger.runtime.crf import Transitions, constrain

FORMAT = "tagger-onnx"  # tagger.nn.export.FORMAT: the value of the metadata's "format"
FORMAT_VERSION = 2  # the newest format this runtime reads (tagger.nn.export.FORMAT_VERSION)
SUFFIX = ".onnx"  # how the tagging path knows an exported model from a torch one


def is_onnx(path: str | Path) -> bool:
    """Whether ``path`` names an exported model (by its suffix: a torch model file is never one)."""
    return str(path).lower().endswith(SUFFIX)


@dataclass
class OnnxModel:
    """A loaded exported model; ``config`` is the model's config as a dict (``ModelConfig.to_dict``)."""

    session: object  # onnxruntime.InferenceSession
    vocab: Vocabulary
    config: dict
    data_scheme: str
    metadata: dict
    crf: Transitions  # the CRF's own scores, unconstrained
    allowed: Transitions | None  # the scheme's allowed starts, pairs and ends (None: unconstrained model)
    inputs: tuple[str, ...] = field(default=())
    outputs: tuple[str, ...] = field(default=("emissions",))

    @property
    def chars(self) -> bool:
        return "chars" in self.inputs

    @property
    def context(self) -> bool:
        """Whether the model reads document context: its batches need ``docs`` and ``keys``, and a window's
        batches are scored together (``window_emissions``)."""
        return "mentions" in self.outputs

    def scores(self, exact: bool = False) -> Transitions:
        """The CRF's scores, constrained as decoding is (``BiLSTMCRF.crf_parameters``)."""
        return constrain(self.crf, self.allowed, exact) if self.config.get("constrained", True) else self.crf

    def emissions(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Tag scores of one batch (``words``, ``cases``, ``forms``, ``chars``, ``lengths`` arrays).
        shape: (batch, time, tags)"""
        return self.session.run(["emissions"], {name: arrays[name] for name in self.inputs})[0]

    def window_emissions(self, feeds: list[dict[str, np.ndarray]], masks: list[np.ndarray]) -> list[np.ndarray]:
        """Tag scores of each of a window's batches (``emissions``' arrays, and with document context each batch's
        ``docs`` and ``keys`` arrays; ``masks``: each batch's real tokens, (batch, time)); with document context
        each token pools its other mentions over the whole window. Each shape: (batch, time, tags)"""
        if not self.context:
            return [self.emissions(feed) for feed in feeds]
        found = [self.session.run(["emissions", "mentions"], {n: feed[n] for n in self.inputs}) for feed in feeds]
        docs, keys = [feed["docs"] for feed in feeds], [feed["keys"] for feed in feeds]
        return window_emissions([own for own, _ in found], [pooled for _, pooled in found], masks, docs, keys)


def load_onnx(path: str | Path, threads: int = 1) -> OnnxModel:
    """The exported model at ``path``, its graph run on ``threads`` threads; ModelFileError naming the file if it
    is missing or not one this runtime reads."""
    import onnxruntime

    name = str(path)
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # onnxruntime's warnings are not the user's business
        session = onnxruntime.InferenceSession(name, options, providers=["CPUExecutionProvider"])
    except FileNotFoundError:
        raise ModelFileError("no such model file", name) from None
    except Exception as err:  # onnxruntime raises its own exception types for anything it cannot read
        if not Path(name).is_file():
            raise ModelFileError("no such model file", name) from None
        detail = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        what = f"not a readable ONNX model (damaged, cut short, or of another program): {detail}"
        raise ModelFileError(what, name) from None
    props = session.get_modelmeta().custom_metadata_map
    return _model(session, props, name)


def _model(session, props: dict, name: str) -> OnnxModel:
    """The model of a session and its metadata, checked."""
    if props.get("format") != FORMAT:
        raise ModelFileError("an ONNX model of another program, not one `tagger export` wrote", name)
    try:
        version = int(props.get("format_version", ""))
    except ValueError:
        version = None
    if version is None or version > FORMAT_VERSION:
        raise ModelFileError(
            f"exported by a newer tagger (format {props.get('format_version')}; this tagger reads format "
            f"{FORMAT_VERSION} and older)",
            name,
        )
    try:
        values = {key: json.loads(props[key]) for key in ("config", "vocab", "metadata", "crf", "constraints")}
        crf = Transitions(*(np.asarray(values["crf"][k], dtype=np.float32) for k in ("start", "pairs", "end")))
        found = values["constraints"]
        allowed = Transitions(*(np.asarray(found[k], dtype=bool) for k in ("start", "pairs", "end"))) if found else None
        vocab = Vocabulary.from_dict(values["vocab"])
        data_scheme = props["data_scheme"]
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"damaged exported model: {str(err)[:160]}", name) from None
    inputs = tuple(i.name for i in session.get_inputs())
    outputs = tuple(o.name for o in session.get_outputs())
    if ("mentions" in outputs) != (version >= 2 and values["config"].get("context") == "document"):
        raise ModelFileError("damaged exported model: its graph and its document context disagree", name)
    return OnnxModel(session, vocab, values["config"], data_scheme, values["metadata"], crf, allowed, inputs, outputs)
