"""The torch-free runtime: an exported model on onnxruntime, and for every model the CRF's decoding and scores in numpy.

An exported model (``tagger export``, ``tagger.nn.export``) is loaded with onnxruntime (``model``); what tagging
computes after the network, for every kind of model, is here in numpy: document context's pooling (``context``),
the CRF's decoding, marginals and n-best (``crf``) and the entity scores (``scores``).
Nothing here imports torch, so tagging with an exported model starts in a fraction of the time and memory."""
