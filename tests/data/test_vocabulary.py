"""The vocabulary: word ids with case and digit folding, and its compact form in the model file."""

from __future__ import annotations

from tagger.nn.model_file import load_model, read_checkpoint


def test_a_vocabulary_that_keeps_case_falls_back_to_lowercase():
    from tagger.data.vocabulary import Vocabulary

    vocab = Vocabulary.build([["Apple", "apple", "US", "May", "2024"]], ["O"], extra_words=["tokyo"], lowercase=False)
    assert vocab.word_id("Apple") != vocab.word_id("apple")
    assert vocab.word_id("APPLE") == vocab.word_id("apple")  # not seen as written: its lowercase form
    assert vocab.word_id("Tokyo") == vocab.word_id("tokyo") > 1  # a pretrained (lowercase) word
    assert vocab.word_id("may") == 1  # "May" was seen, "may" was not: unknown
    assert vocab.word_id("1999") == vocab.word_id("2024") > 1  # digits folded
    again = Vocabulary.from_dict(vocab.to_dict())
    assert again.lowercase is False and again.word_id("APPLE") == vocab.word_id("apple")
    old = {k: v for k, v in vocab.to_dict().items() if k != "lowercase"}  # a model file from before the option
    assert Vocabulary.from_dict(old).lowercase is True


def test_vocabulary_is_packed_in_the_model_file_and_old_lists_still_load(trained_model):
    from tagger.data.vocabulary import Vocabulary

    checkpoint = read_checkpoint(trained_model)
    vocab = load_model(trained_model).vocab
    # One string and one block of bytes: the loader reads each in one step, not one per word.
    assert isinstance(checkpoint["vocab"]["words"], str)
    assert isinstance(checkpoint["vocab"]["word_counts"], bytes)
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab
    lists = {**vocab.to_dict(), "words": list(vocab.words), "word_counts": list(vocab.word_counts)}
    assert Vocabulary.from_dict(lists) == vocab  # a model file written before the packing
    odd = Vocabulary(["<pad>", "<unk>", "a\nb", "c"], ["<pad>", "<unk>"], ["O"], [0, 0, 2, 1])
    assert isinstance(odd.to_dict()["words"], list)  # a word with a newline keeps the list
    assert Vocabulary.from_dict(odd.to_dict()) == odd
