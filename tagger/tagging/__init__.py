"""The tagging room: sentences in, tags out, written in a format.

What belongs here: the predictor that tags windows of sentences with a loaded model (``predictor``), the
``--jobs`` worker processes (``jobs``, ``preload``), tagging a corpus on Dask (``dask``) and the writers
(``writer``, ``html``); the options of tagging a file (``options``: ``TagOptions``) and where a file is tagged
(``files``: by the --jobs workers or in this process). It uses the network and the data rooms, never training or
the command line.
"""
