"""An exported model file (``tagger.nn.export``): read, checked, and run on onnxruntime, without torch.

``load_onnx`` reads the file's metadata and makes an onnxruntime session of its graph; every problem with the file is
one ``ModelFileError`` naming it. ``OnnxModel`` is the onnxruntime backend of ``tagger.tagging.model``: ``forms``
lays out a window's form table, ``run`` runs the graph on one batch. Reads format 1 and format 2 (document context,
with ``mentions`` that the predictor pools over the window: ``runtime.context``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.data.arrays import WindowArrays
from tagger.data.vocabulary import Vocabulary
from tagger.errors import ModelFileError
from tagger.runtime.crf import Transitions

FORMAT = "tagger-onnx"  # tagger.nn.export.FORMAT: the value of the metadata's "format"
FORMAT_VERSION = 2  # the newest format this runtime reads (tagger.nn.export.FORMAT_VERSION)
# Padded tokens per run of the graph: a longer batch runs in parts. onnxruntime keeps the memory of the largest run
# it has seen (the LSTM's per-token buffers), which for a batch of 64 long sentences is tens of MB; in parts of this
# size it stays under a few, at no cost in speed measured (bench/onnx_speed.py).
RUN_TOKENS = 1024
# Lines (or sentences) per window: half the torch model's (windows.WINDOW). Besides the one tagged, a window waits
# ready and more are read ahead; in halves they hold half the memory (peak RSS 114 -> 101 MiB on 1.5 MB of text),
# and the graph runs as fast (it runs per batch; the torch model's char encoder runs once per window, and gains
# from the larger).
WINDOW = 1024


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
    device: str = "cpu"  # the only device onnxruntime runs it on here
    window: int = WINDOW

    @property
    def chars(self) -> bool:
        return "chars" in self.inputs

    @property
    def context(self) -> bool:
        """Whether the model reads document context: its batches need ``docs`` and ``keys``, and its ``mentions``
        are pooled over the window (``runtime.context``)."""
        return "mentions" in self.outputs

    def forms(self, arrays: WindowArrays) -> tuple[np.ndarray, np.ndarray] | None:
        """The window's form table's characters, padded to its longest form (forms, chars), and each form's
        character count (forms,); None for a model without a character encoder."""
        if not self.chars:
            return None
        width = max((b.width for b in arrays.buckets), default=1)
        table = np.zeros((max(arrays.forms, 1), width), dtype=np.int64)  # shape: (forms, chars)
        for bucket in arrays.buckets:
            chars = np.frombuffer(bucket.chars, dtype=np.int64).reshape(-1, bucket.width)  # shape: (rows, width)
            table[bucket.start : bucket.start + chars.shape[0], : bucket.width] = chars
        return table, (table != 0).sum(axis=1)

    def run(self, feed: dict[str, np.ndarray], forms) -> tuple[np.ndarray, np.ndarray | None]:
        """The tag scores (batch, time, tags) of one batch (``feed``: ``words``, ``cases``, ``forms``, ``lengths``;
        ``forms``: the window's, from ``forms``), and with document context the scores its tokens lend their other
        mentions (batch, time, tags), else None. A batch of more than ``RUN_TOKENS`` padded tokens runs in parts."""
        rows = max(1, RUN_TOKENS // feed["words"].shape[1])
        count = feed["lengths"].shape[0]
        if count <= rows:
            return self._run(feed, forms)
        parts = [self._run({k: v[at : at + rows] for k, v in feed.items()}, forms) for at in range(0, count, rows)]
        emissions = np.concatenate([own for own, _ in parts])  # shape: (batch, time, tags)
        return emissions, np.concatenate([lent for _, lent in parts]) if self.context else None

    def _run(self, feed: dict[str, np.ndarray], forms) -> tuple[np.ndarray, np.ndarray | None]:
        arrays = {name: feed[name] for name in ("words", "cases", "forms", "lengths")}
        if forms is not None:  # the characters of the forms this batch uses, renumbered
            table, widths = forms
            used, renumbered = np.unique(feed["forms"], return_inverse=True)
            arrays["forms"] = renumbered.reshape(feed["forms"].shape)
            arrays["chars"] = table[used, : max(int(widths[used].max()), 1)]  # no wider than its longest form
        found = self.session.run(list(self.outputs), {name: arrays[name] for name in self.inputs})
        return found[0], found[1] if self.context else None


def load_onnx(path: str | Path, threads: int = 1) -> OnnxModel:
    """The exported model at ``path``, its graph run on ``threads`` threads; ModelFileError naming the file if it
    is missing or not one this runtime reads."""
    import onnxruntime

    name = str(path)
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Planning memory by the first run's shapes helps graphs of fixed shapes; here every batch's differ, and
        # the plans only add to what is held (bench/onnx_speed.py: peak RSS)
        options.enable_mem_pattern = False
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


def exported_checkpoint(path: str | Path) -> dict:
    """What an exported model says about itself, in a checkpoint's shape (``tagger info``), with its weights'
    count (``parameters``, written by the export; None in a file exported before it was) in place of the weights."""
    props = load_onnx(path).session.get_modelmeta().custom_metadata_map  # checked: format, version, values
    try:
        values = {key: json.loads(props[key]) for key in ("config", "vocab", "metadata")}
        parameters = json.loads(props["parameters"]) if props.get("parameters") else None
        about = json.loads(props["about"]) if props.get("about") else None  # a shipped model's description
    except (KeyError, ValueError) as err:
        raise ModelFileError(f"damaged exported model: {str(err)[:160]}", str(path)) from None
    fixed = {"format": props["format"], "format_version": int(props["format_version"])}
    return {**fixed, **values, "data_scheme": props["data_scheme"], "about": about, "parameters": parameters}
