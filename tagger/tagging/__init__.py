"""The tagging room: sentences in, tags out, written in a format.

What belongs here: the predictor that tags windows of sentences with a loaded model (``predictor``; for an
exported .onnx model ``exported``, without torch), the stream of tagged windows both share (``stream``) and the
rewrite of tag ids into the data's scheme (``rewrite``), the
``--jobs`` worker processes (``jobs``, ``preload``), tagging a corpus on Dask (``dask``) and the writers
(``writer``, ``html``); the options of tagging a file (``options``: ``TagOptions``) and where a file is tagged
(``files``: by the --jobs workers or in this process). It uses the network, runtime and data rooms, never training or
the command line.
"""
