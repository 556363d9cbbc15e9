"""The torch-free runtime: an exported model (``tagger export``, ``tagger.nn.export``) loaded with onnxruntime
(``model``), and what tagging computes after the network for every kind of model, in numpy: document context's
pooling (``context``), the CRF's decoding, marginals and n-best (``crf``) and the entity scores (``scores``).
Nothing here imports torch, so tagging with an exported model starts in a fraction of the time and memory."""
