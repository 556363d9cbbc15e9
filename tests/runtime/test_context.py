"""tagger/runtime/context.py: the numpy pooling of a word's other mentions equals the torch model's, and a window's
batches exchange their mentions' scores within a document only, whichever batch holds them."""

from __future__ import annotations

import numpy as np
import torch

from tagger.nn.model import pool_mentions as torch_pool
from tagger.runtime.context import pool_mentions, window_emissions


def test_pool_mentions_equals_torch_on_random_groups():
    generator = np.random.default_rng(3)
    for n in (0, 1, 2, 7, 40, 300):
        states = generator.standard_normal((n, 5)).astype(np.float32)  # shape: (n, features)
        docs = generator.integers(0, 3, n)  # shape: (n,)
        keys = generator.integers(1, 6, n)  # shape: (n,)
        want = torch_pool(torch.from_numpy(states), torch.from_numpy(docs), torch.from_numpy(keys)).numpy()
        got = pool_mentions(states, docs, keys)
        assert got.shape == (n, 5) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_token_alone_in_its_group_pools_nothing():
    states = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    got = pool_mentions(states, np.array([0, 0, 1]), np.array([1, 1, 1]))
    np.testing.assert_array_equal(got, [[2.0], [1.0], [0.0]])  # the third has the key in another document only


def test_mentions_pool_across_the_batches_of_a_window_within_a_document():
    # Batch 1: one row (document 0) of two tokens; batch 2: two rows (documents 0 and 1) of one token and padding.
    own = [np.zeros((1, 2, 1), np.float32), np.full((2, 1, 1), 10.0, np.float32)]
    mentions = [np.array([[[1.0], [2.0]]], np.float32), np.array([[[4.0]], [[8.0]]], np.float32)]
    masks = [np.array([[True, True]]), np.array([[True], [True]])]
    docs = [np.array([0]), np.array([0, 1])]
    keys = [np.array([[5, 6]]), np.array([[5], [5]])]
    got = window_emissions(own, mentions, masks, docs, keys)
    np.testing.assert_array_equal(got[0][..., 0], [[4.0, 0.0]])  # key 5 in document 0 is also in batch 2
    np.testing.assert_array_equal(got[1][..., 0], [[11.0], [10.0]])  # document 1's key 5 has no other mention
    np.testing.assert_array_equal(own[0], 0.0)  # the graph's outputs are left as they were
