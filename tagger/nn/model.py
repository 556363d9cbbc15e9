"""The BiLSTM-CRF network.

Token features (word embedding, a character encoder, a case embedding) feed a bidirectional LSTM or GRU whose
states (2 x hidden) are projected to tag scores (emissions), which the CRF (``crf.CRF``) scores as whole sequences:
the loss. With document context (``ModelConfig.context == "document"``) each token's state is joined by the mean of
the states of the other mentions of its lowercased form in its document (``pool_mentions``): 4 x hidden.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from tagger.data.vocabulary import CASES
from tagger.nn.config import ModelConfig
from tagger.nn.crf import CRF, scheme_constraints
from tagger.nn.tensors import Batch


class Dropout(nn.Module):
    """Inverted dropout drawing its mask with ``rand`` (cheaper on a CPU than ``nn.Dropout``'s ``bernoulli_``).

    ``locked``: over (batch, time, features), one mask per sentence for every token (variational dropout).
    """

    def __init__(self, p: float, locked: bool = False):
        super().__init__()
        self.p = p
        self.locked = locked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0], 1, x.shape[2]) if self.locked and x.dim() == 3 else x.shape
        keep = (torch.rand(shape, device=x.device) >= self.p).to(x.dtype)  # shape: like x, or (batch, 1, features)
        return x * keep.mul_(1.0 / (1.0 - self.p))


class CharCNN(nn.Module):
    """Max-pooled convolution over a token's characters (padding masked out).

    One matrix product over the forms' characters laid end to end, ``kernel // 2`` padding characters between forms:
    ``nn.Conv1d``'s numbers (and parameters) without computing the padding or paying oneDNN's per-call overhead.
    """

    def __init__(self, num_chars: int, dim: int, filters: int, kernel: int):
        super().__init__()
        self.embed = nn.Embedding(num_chars, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, filters, kernel, padding=kernel // 2)
        self.out_dim = filters

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        forms, width = chars.shape
        kernel = self.conv.kernel_size[0]
        side = kernel // 2
        lengths = (chars != 0).sum(dim=1)  # shape: (forms,)
        cols = torch.arange(width + side, device=chars.device)  # shape: (width + side,)
        # Each form's characters, then ``side`` padding characters.
        keep = cols < (lengths + side).unsqueeze(1)  # shape: (forms, width + side)
        laid = nn.functional.pad(chars, (0, side))[keep]  # shape: (n,)
        n = laid.shape[0]
        x = self.embed(nn.functional.pad(laid, (side, side)))  # shape: (n + 2 * side, dim); padding embeds to 0
        windows = torch.cat([x[i : i + n] for i in range(kernel)], dim=1)  # shape: (n, kernel * dim)
        weight = self.conv.weight.permute(0, 2, 1).reshape(self.out_dim, -1)  # shape: (filters, kernel * dim)
        out = torch.addmm(self.conv.bias, windows, weight.t())  # shape: (n, filters)
        out = torch.cat([out, out.new_full((1, self.out_dim), float("-inf"))])  # row n: -inf for the padding
        where = keep.flatten().cumsum(0).view(forms, width + side)[:, :width] - 1  # shape: (forms, width)
        where = where.masked_fill(cols[:width] >= lengths.unsqueeze(1), n)
        return out[where].max(dim=1).values  # shape: (forms, filters)


class CharLSTM(nn.Module):
    """Final states of a bidirectional LSTM over a token's characters."""

    def __init__(self, num_chars: int, dim: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(num_chars, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        lengths = (chars != 0).sum(dim=1).clamp(min=1)  # shape: (forms,)
        packed = pack_padded_sequence(self.embed(chars), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h shape: (2, forms, hidden)
        return torch.cat([h[0], h[1]], dim=1)  # shape: (forms, 2 * hidden)


class BiRNN(nn.Module):
    """A bidirectional LSTM or GRU over a padded batch: forward and backward states concatenated.

    The backward direction runs forwards over each sentence reversed within its length, so padding never reaches
    the real tokens (as with packed sequences) while the fused recurrent kernels stay in use on a CPU.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, layers: int, dropout: float):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.forwards = nn.ModuleList()
        self.backwards = nn.ModuleList()
        for layer in range(layers):
            size = input_size if layer == 0 else 2 * hidden_size
            self.forwards.append(rnn(size, hidden_size, batch_first=True))
            self.backwards.append(rnn(size, hidden_size, batch_first=True))
        self.between = Dropout(dropout)
        self.hidden_size = hidden_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        batch, time, _ = x.shape
        steps = torch.arange(time, device=x.device).expand(batch, time)  # shape: (batch, time)
        ends = lengths.to(x.device).unsqueeze(1)  # shape: (batch, 1)
        reverse = torch.where(steps < ends, ends - 1 - steps, steps)  # shape: (batch, time)
        for layer, (fwd, bwd) in enumerate(zip(self.forwards, self.backwards)):
            if layer > 0:
                x = self.between(x)
            ahead, _ = fwd(x)  # shape: (batch, time, hidden)
            flipped = x.gather(1, reverse.unsqueeze(2).expand(-1, -1, x.shape[2]))
            behind, _ = bwd(flipped)  # shape: (batch, time, hidden), in reversed order
            behind = behind.gather(1, reverse.unsqueeze(2).expand(-1, -1, self.hidden_size))
            x = torch.cat([ahead, behind], dim=2)  # shape: (batch, time, 2 * hidden)
        return x


class BiLSTMCRF(nn.Module):
    def __init__(self, config: ModelConfig, tags: list[str] | None = None):
        super().__init__()
        self.config = config
        c = config
        self.word_embed = nn.Embedding(c.num_words, c.word_dim, padding_idx=0)
        # Pretrained vectors of words not in the training data: looked up, never trained.
        self.register_buffer("extra_vectors", torch.zeros(c.num_extra_words, c.word_dim))
        feature_dim = c.word_dim
        self.char_encoder: nn.Module | None = None
        if c.char_encoder == "cnn":
            self.char_encoder = CharCNN(c.num_chars, c.char_dim, c.char_size, c.char_kernel)
        elif c.char_encoder == "lstm":
            self.char_encoder = CharLSTM(c.num_chars, c.char_dim, c.char_size)
        if self.char_encoder is not None:
            feature_dim += self.char_encoder.out_dim
        self.case_embed = nn.Embedding(len(CASES), c.case_dim, padding_idx=0) if c.case_dim else None
        feature_dim += c.case_dim
        self.rnn = BiRNN(c.cell, feature_dim, c.hidden_size, c.layers, c.dropout)
        self.dropout = Dropout(c.dropout, c.locked_dropout)
        self.context = c.context == "document"
        self.project = nn.Linear((4 if self.context else 2) * c.hidden_size, c.num_tags)
        self.crf = CRF(c.num_tags, scheme_constraints(tags, c.scheme) if tags else None)

    def embed_words(self, words: torch.Tensor) -> torch.Tensor:
        """Word vectors; ids past the trained table index the frozen pretrained one. shape: (..., word_dim)"""
        trained = self.config.num_words
        # A loaded model's tables may be 16-bit (model_file.half_tables): the rows looked up take the network's dtype
        dtype = self.project.weight.dtype
        if self.config.num_extra_words == 0:
            return self.word_embed(words).to(dtype)
        extra = words >= trained  # shape: (...)
        x = self.word_embed(words.masked_fill(extra, 0)).to(dtype)  # shape: (..., word_dim)
        if bool(extra.any()):
            frozen = self.extra_vectors[(words - trained).clamp(min=0)].to(dtype)  # shape: (..., word_dim)
            x = torch.where(extra.unsqueeze(-1), frozen, x)
        return x

    def emissions(self, batch: Batch, form_features: torch.Tensor | None = None) -> torch.Tensor:
        """Tag scores for every token, as training reads them. shape: (batch, time, tags)

        ``form_features`` (forms, char_out): the character features of the table ``batch.forms`` indexes. With
        document context the batch must hold whole documents with their docs and keys (``pool_mentions``)."""
        states = self.states(batch, form_features)  # shape: (batch, time, 2 * hidden)
        if not self.context:
            return self.scores(states)
        if batch.docs is None or batch.keys is None:
            raise ValueError("a model with document context needs batches with docs and keys (arrays.py, context)")
        mask = batch.mask
        docs = batch.docs.unsqueeze(1).expand_as(mask)[mask]  # shape: (tokens,)
        pooled = pool_mentions(states[mask], docs, batch.keys[mask])  # shape: (tokens, 2 * hidden)
        return self.scores(states, states.new_zeros(states.shape).masked_scatter(mask.unsqueeze(2), pooled))

    def own_and_mentions(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """With document context, for tagging: the scores of ``states`` (batch, time, 2 * hidden) without their
        mentions, and the scores each token lends its other mentions before pooling (the projection is linear).
        Each shape: (batch, time, tags)"""
        width, tags = states.shape[2], self.project.out_features
        weight = self.project.weight  # shape: (tags, 4 * hidden): the own state's columns, then the pooled's
        both = torch.cat([weight[:, :width], weight[:, width:]])  # shape: (2 * tags, 2 * hidden)
        scored = nn.functional.linear(states, both)  # shape: (batch, time, 2 * tags)
        return scored[:, :, :tags] + self.project.bias, scored[:, :, tags:]

    def states(self, batch: Batch, form_features: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's states of every token. shape: (batch, time, 2 * hidden)"""
        parts = [self.embed_words(batch.words)]  # shape: (batch, time, word_dim)
        if self.char_encoder is not None:
            per_form = form_features if form_features is not None else self.char_encoder(batch.chars)
            # per_form shape: (forms, char_out)
            parts.append(per_form[batch.forms])  # shape: (batch, time, char_out)
        if self.case_embed is not None:
            parts.append(self.case_embed(batch.cases))  # shape: (batch, time, case_dim)
        x = self.dropout(torch.cat(parts, dim=2))  # shape: (batch, time, features)
        return self.rnn(x, batch.lengths)  # shape: (batch, time, 2 * hidden)

    def scores(self, states: torch.Tensor, pooled: torch.Tensor | None = None) -> torch.Tensor:
        """Tag scores from the encoder's states (batch, time, 2 * hidden), joined by the pooled states
        of the other mentions (same shape) with document context. shape: (batch, time, tags)"""
        if pooled is not None:
            states = torch.cat([states, pooled], dim=2)  # shape: (batch, time, 4 * hidden)
        return self.project(self.dropout(states))  # shape: (batch, time, tags)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags per sentence: pytorch-crf's, unconstrained (``crf.CRF``)."""
        if batch.tags is None:
            raise ValueError("loss needs a batch with tags")
        return -self.crf(self.emissions(batch), batch.tags, batch.mask, reduction="mean")

    def form_features(self, buckets: list, forms: int) -> torch.Tensor | None:
        """Character features of a window's whole form table (see ``arrays.window_arrays``). shape: (forms, char_out)"""
        if self.char_encoder is None:
            return None
        device = self.word_embed.weight.device
        table = torch.empty(forms, self.char_encoder.out_dim, device=device)
        for bucket in buckets:
            chars = bucket.chars.to(device)
            table[bucket.start : bucket.start + chars.shape[0]] = self.char_encoder(chars)
        return table


def pool_mentions(states: torch.Tensor, docs: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """For each of n tokens, the mean of the ``states`` (n, features) of the other tokens with the same ``docs`` (n,)
    and ``keys`` (n,), zeros when there is none: (group sum - own) / (count - 1). shape: (n, features)"""
    if states.shape[0] == 0:
        return states.clone()
    span = int(keys.max()) + 1
    _, group = torch.unique(docs * span + keys, return_inverse=True)  # shape: (n,) group of each token
    groups = int(group.max()) + 1
    sums = states.new_zeros(groups, states.shape[1]).index_add_(0, group, states)  # shape: (groups, features)
    counts = torch.bincount(group, minlength=groups)  # shape: (groups,)
    others = (counts[group] - 1).clamp(min=1).unsqueeze(1).to(states.dtype)  # shape: (n, 1)
    return (sums[group] - states) / others  # shape: (n, features); zeros when alone
