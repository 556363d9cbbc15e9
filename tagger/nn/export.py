"""Export a model file to ONNX: the network up to the tag scores, and what decoding needs, in one file.

The graph takes one batch as ``arrays.py`` lays it out (``words``, ``cases``, ``forms`` (batch, time), ``chars``
(forms, chars), ``lengths`` (batch,)), every size dynamic, and gives ``emissions`` (batch, time, tags). The rest
(vocabulary, config, data scheme, training metadata, CRF scores, constraints, weight count) is JSON in the file's
metadata under ``METADATA_KEYS``, so loading runs no code from it (``tagger.runtime.model``).

``torch.onnx.export`` runs the TorchScript exporter (``dynamo=False``: only ``onnx`` needed) over ``ExportNet``: the
model's layers with the character encoders written without what does not trace (same numbers up to rounding).

With document context the graph gives, as ``BiLSTMCRF.own_and_mentions`` does, ``emissions`` without the mentions
and ``mentions`` (batch, time, tags), which the runtime pools over the window (``tagger.runtime.context``); such a
file is format 2 (``CONTEXT_VERSION``), which a format-1 runtime refuses; every other file stays format 1.

An ensemble exports as one graph (``EnsembleNet``) averaging the members' outputs and CRF scores. Pooling being
linear, members that differ in context average their ``mentions`` (zeros without context) before pooling.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from tagger.errors import ModelFileError
from tagger.nn.checkpoint import weight_counts
from tagger.nn.ensemble import Ensemble
from tagger.nn.model import BiLSTMCRF, BiRNN, CharCNN, CharLSTM
from tagger.nn.model_file import LoadedModel
from tagger.nn.network import TorchNetwork

FORMAT = "tagger-onnx"  # the metadata's "format"
FORMAT_VERSION = 2  # the newest format written; a runtime refuses a file of a newer version than it reads
CONTEXT_VERSION = 2  # the format of a file whose graph gives ``mentions`` to pool (document context)
PLAIN_VERSION = 1  # the format of every other file, which any runtime reads
OPSET = 17
INPUTS = ("words", "cases", "forms", "chars", "lengths")
METADATA_KEYS = (
    *("format", "format_version", "config", "vocab", "data_scheme", "metadata", "crf", "constraints", "parameters"),
)


class ExportNet(nn.Module):
    """``BiLSTMCRF.emissions`` as a traceable function of the batch's arrays (with document context, as
    ``own_and_mentions``). One word table, the trained rows then the pretrained extra ones, kept 16-bit where both
    are (``model_file.half_tables``) and widened after the lookup, as ``embed_words`` does."""

    def __init__(self, model: BiLSTMCRF):
        super().__init__()
        dtype = model.project.weight.dtype
        trained, extra = model.word_embed.weight.detach(), model.extra_vectors
        stored = torch.float16 if trained.dtype == extra.dtype == torch.float16 else dtype
        self.words = nn.Embedding.from_pretrained(torch.cat([trained.to(stored), extra.to(stored)]), freeze=True)
        self.dtype = dtype
        self.chars = _char_encoder(model.char_encoder)
        self.cases = model.case_embed
        self.rnn = BidirectionalRNN(model.rnn)
        self.project = model.project
        self.context = model.context
        if self.context:  # as own_and_mentions splits the projection
            weight, width = model.project.weight.detach(), 2 * model.config.hidden_size  # shape: (tags, 4 * hidden)
            self.register_buffer("both", torch.cat([weight[:, :width], weight[:, width:]]))  # (2 * tags, 2 * hidden)

    def forward(self, words, cases, forms, chars, lengths):  # noqa: D102
        parts = [self.words(words).to(self.dtype)]  # shape: (batch, time, word_dim)
        if self.chars is not None:
            parts.append(self.chars(chars)[forms])  # shape: (batch, time, char_out)
        if self.cases is not None:
            parts.append(self.cases(cases))  # shape: (batch, time, case_dim)
        states = self.rnn(torch.cat(parts, dim=2), lengths)  # shape: (batch, time, 2 * hidden)
        if not self.context:
            return self.project(states)  # shape: (batch, time, tags)
        tags = self.project.out_features
        scored = nn.functional.linear(states, self.both)  # shape: (batch, time, 2 * tags)
        return scored[:, :, :tags] + self.project.bias, scored[:, :, tags:]  # each shape: (batch, time, tags)


class EnsembleNet(nn.Module):
    """``Ensemble``'s emissions as one traceable function: the members' ``ExportNet`` outputs averaged (a member
    without context counting as zero mentions)."""

    def __init__(self, members: list[BiLSTMCRF]):
        super().__init__()
        self.nets = nn.ModuleList(ExportNet(m) for m in members)
        self.context = any(net.context for net in self.nets)

    def forward(self, words, cases, forms, chars, lengths):  # noqa: D102
        found = [net(words, cases, forms, chars, lengths) for net in self.nets]
        own = [f[0] if net.context else f for f, net in zip(found, self.nets)]  # each shape: (batch, time, tags)
        emissions = torch.stack(own).mean(dim=0)  # shape: (batch, time, tags)
        if not self.context:
            return emissions
        mentions = [f[1] for f, net in zip(found, self.nets) if net.context]  # each shape: (batch, time, tags)
        return emissions, torch.stack(mentions).sum(dim=0) / len(self.nets)  # each shape: (batch, time, tags)


class BidirectionalRNN(nn.Module):
    """``BiRNN`` as one bidirectional ONNX LSTM or GRU node per layer reading ``sequence_lens`` (no gathers to
    reverse each sentence); run in torch (not traced), it is ``BiRNN`` itself. Padding gets zeros."""

    def __init__(self, birnn: BiRNN):
        super().__init__()
        self.birnn = birnn
        lstm = isinstance(birnn.forwards[0], nn.LSTM)
        # ONNX's gate order: LSTM i, o, f, c (torch's i, f, g, o); GRU z, r, h (torch's r, z, n)
        order = [0, 3, 1, 2] if lstm else [1, 0, 2]
        self.op, self.hidden = ("LSTM" if lstm else "GRU"), birnn.hidden_size
        self.names = []  # per layer W, R, Wb, Rb, each shape: (2, gates * hidden, ...); buffers, so that the graph
        # keeps them as initializers (weights, which `tagger info` counts), not constant nodes
        for layer, (fwd, bwd) in enumerate(zip(birnn.forwards, birnn.backwards)):
            for name in _RNN:
                self.names.append(f"{name}_l{layer}")
                both = torch.stack([_gates(getattr(rnn, f"{name}_l0"), order) for rnn in (fwd, bwd)])
                self.register_buffer(self.names[-1], both)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.birnn(x, lengths)
        weights = [getattr(self, name) for name in self.names]
        return _OnnxRNN.apply(x, lengths, self.op, self.hidden, *weights)  # shape: (batch, time, 2 * hidden)


_RNN = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _gates(weight: torch.Tensor, order: list[int]) -> torch.Tensor:
    chunks = weight.detach().chunk(len(order))  # torch's gates
    return torch.cat([chunks[k] for k in order])


class _OnnxRNN(torch.autograd.Function):
    """The traced stand-in of ``BidirectionalRNN``: zeros of the output's shape in torch, ONNX nodes in the graph."""

    @staticmethod
    def forward(ctx, x, lengths, op, hidden, *weights):  # noqa: D102
        return x.new_zeros(x.shape[0], x.shape[1], 2 * hidden)

    @staticmethod
    def symbolic(g, x, lengths, op, hidden, *weights):  # noqa: D102
        lens = g.op("Cast", lengths, to_i=6)  # int32, as ONNX's sequence_lens is
        y = g.op("Transpose", x, perm_i=[1, 0, 2])  # shape: (time, batch, features)
        for at in range(0, len(weights), 4):
            w, r, wb, rb = weights[at : at + 4]
            bias = g.op("Concat", wb, rb, axis_i=1)  # shape: (2, 2 * gates * hidden)
            extra = {"linear_before_reset_i": 1} if op == "GRU" else {}
            out = g.op(op, y, w, r, bias, lens, hidden_size_i=hidden, direction_s="bidirectional", outputs=1, **extra)
            out = g.op("Transpose", out, perm_i=[0, 2, 1, 3])  # shape: (time, batch, 2, hidden)
            shape = g.op("Constant", value_t=torch.tensor([0, 0, -1]))
            y = g.op("Reshape", out, shape)  # shape: (time, batch, 2 * hidden)
        return g.op("Transpose", y, perm_i=[1, 0, 2])  # shape: (batch, time, 2 * hidden)


class PaddedCNN(nn.Module):
    """``CharCNN`` over the padded (forms, chars) tensor: a convolution, the padding masked to -inf, a max."""

    def __init__(self, cnn: CharCNN):
        super().__init__()
        self.embed, self.conv = cnn.embed, cnn.conv

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        lengths = (chars != 0).sum(dim=1)  # shape: (forms,)
        out = self.conv(self.embed(chars).transpose(1, 2))  # shape: (forms, filters, chars)
        steps = torch.arange(chars.shape[1]).unsqueeze(0)  # shape: (1, chars)
        padding = (steps >= lengths.unsqueeze(1)).unsqueeze(1)  # shape: (forms, 1, chars)
        # -inf added where padded: onnxruntime's broadcast Add runs several times faster than its Where
        masked = out + torch.zeros_like(padding, dtype=out.dtype).masked_fill(padding, float("-inf"))
        return masked.max(dim=2).values  # shape: (forms, filters)


class PaddedCharLSTM(nn.Module):
    """``CharLSTM`` without packing: each direction's state at the form's last character, the backward
    direction run forwards over each form reversed within its length (as ``BiRNN`` does)."""

    def __init__(self, encoder: CharLSTM):
        super().__init__()
        self.embed = encoder.embed
        lstm = encoder.lstm
        self.fwd = nn.LSTM(lstm.input_size, lstm.hidden_size, batch_first=True)
        self.bwd = nn.LSTM(lstm.input_size, lstm.hidden_size, batch_first=True)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(self.fwd, f"{name}_l0").data = getattr(lstm, f"{name}_l0").detach().clone()
            getattr(self.bwd, f"{name}_l0").data = getattr(lstm, f"{name}_l0_reverse").detach().clone()

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        forms, width = chars.shape
        lengths = (chars != 0).sum(dim=1).clamp(min=1)  # shape: (forms,)
        x = self.embed(chars)  # shape: (forms, chars, dim)
        steps = torch.arange(width).unsqueeze(0).expand(forms, width)  # shape: (forms, chars)
        ends = lengths.unsqueeze(1)  # shape: (forms, 1)
        reverse = torch.where(steps < ends, ends - 1 - steps, steps)  # shape: (forms, chars)
        ahead, _ = self.fwd(x)  # shape: (forms, chars, hidden)
        behind, _ = self.bwd(x.gather(1, reverse.unsqueeze(2).expand(-1, -1, x.shape[2])))
        last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, ahead.shape[2])  # shape: (forms, 1, hidden)
        return torch.cat([ahead.gather(1, last), behind.gather(1, last)], dim=2).squeeze(1)  # (forms, 2 * hidden)


def _char_encoder(encoder: nn.Module | None) -> nn.Module | None:
    if isinstance(encoder, CharCNN):
        return PaddedCNN(encoder)
    if isinstance(encoder, CharLSTM):
        return PaddedCharLSTM(encoder)
    return None


def export_model(loaded: LoadedModel, path: str | Path, name: str = "<model>", about: dict | None = None) -> Path:
    """Write ``loaded`` (a model or an ensemble) as an ONNX file at ``path``; ``name``: the model file's, for errors;
    ``about``: a shipped model's description, kept in the metadata."""
    import onnx

    model = loaded.model
    if isinstance(model, Ensemble):
        net: nn.Module = EnsembleNet([_float32(m) for m in model.members]).eval()
    elif isinstance(model, BiLSTMCRF):
        net = ExportNet(_float32(model)).eval()
    else:
        raise ModelFileError(f"cannot export a {type(model).__name__}: a model file or an ensemble of them", name)
    graph = onnx.load_model_from_string(_traced(net, net.context))
    described = {"about": json.dumps(about)} if about else {}
    for key, value in {**metadata(loaded), **described}.items():
        graph.metadata_props.add(key=key, value=value)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(graph.SerializeToString())
    tmp.replace(path)
    return path


def _float32(model: BiLSTMCRF) -> BiLSTMCRF:
    """The model in 32-bit floats (a loaded model's tables may be 16-bit: ``model_file.half_tables``)."""
    return model.float() if model.project.weight.dtype != torch.float32 else model


def _traced(net: nn.Module, context: bool) -> bytes:
    """The ONNX bytes of ``net`` traced on a small batch, with every size dynamic; ``context``: it gives
    ``mentions`` after ``emissions``."""
    batch = (
        torch.tensor([[2, 3, 4], [5, 6, 0]]),  # words
        torch.tensor([[1, 1, 1], [1, 1, 0]]),  # cases
        torch.tensor([[0, 1, 2], [3, 0, 0]]),  # forms
        torch.tensor([[2, 3, 0], [4, 0, 0], [2, 2, 2], [3, 4, 0]]),  # chars
        torch.tensor([3, 2]),  # lengths
    )
    tokens = {0: "batch", 1: "time"}
    axes = {"words": tokens, "cases": tokens, "forms": tokens, "chars": {0: "forms", 1: "chars"}}
    outputs = ["emissions", "mentions"] if context else ["emissions"]
    axes.update({"lengths": {0: "batch"}, **{name: tokens for name in outputs}})
    out = io.BytesIO()
    # The exporter warns that an LSTM traced on one batch size may fail on others: not with these graphs, whose
    # initial states are zeros made at the batch's size (tests/nn/test_export.py runs other sizes).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the RNNs' size checks, constant for a model
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter, chosen: it needs only onnx
        torch.onnx.export(
            net, batch, out, input_names=list(INPUTS), output_names=outputs, dynamic_axes=axes,
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    return out.getvalue()


def metadata(loaded: LoadedModel) -> dict[str, str]:
    """The ONNX file's metadata, each value a string (JSON where not one already), as ``TorchNetwork`` gives it."""
    network = TorchNetwork(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    parts = ("start", "pairs", "end")
    transitions = {name: scores.tolist() for name, scores in zip(parts, network.crf)}
    allowed = network.allowed
    constraints = None if allowed is None else {name: ok.tolist() for name, ok in zip(parts, allowed)}
    values = {
        "format": FORMAT,
        "format_version": CONTEXT_VERSION if network.context else PLAIN_VERSION,
        "config": network.config,
        "vocab": {**loaded.vocab.to_dict(), "word_counts": list(loaded.vocab.word_counts)},  # JSON has no bytes
        "data_scheme": loaded.data_scheme,
        "metadata": loaded.metadata,
        "crf": transitions,
        "constraints": constraints,
        "parameters": weight_counts(loaded.model.state_dict()),  # the .pt's count, for tagger info (no torch there)
    }
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
