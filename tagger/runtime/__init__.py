"""The torch-free runtime: an exported model (``tagger export``, ``tagger.nn.export``) loaded with onnxruntime,
and the CRF's decoding and scores in numpy. Nothing here imports torch, so tagging with an exported model starts
in a fraction of the time and memory."""
