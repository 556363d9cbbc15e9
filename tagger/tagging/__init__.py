"""The tagging room: sentences in, tags out, written in a format.

What belongs here: opening any model, the one place that knows the kinds of model file (``model``: a .pt on
torch, an exported .onnx on onnxruntime, an ensemble, a shipped name), the predictor that tags windows of
sentences with it (``predictor``), the stream of tagged windows (``stream``) and the rewrite of tag ids into
the data's scheme (``rewrite``), the
``--jobs`` worker processes (``jobs``, ``preload``), tagging a corpus on Dask (``dask``) and the writers
(``writer``, ``html``); the options of tagging a file (``options``: ``TagOptions``) and where a file is tagged
(``files``: by the --jobs workers or in this process); texts and token lists held in memory (``texts``), a stream
of texts grouped as it arrives (``arrivals``) and the checks of the API's arguments (``arguments``). It uses
the network, runtime and data rooms, never training or the command line.
"""
