"""The tagging room: sentences in, tags out, written in a format.

What belongs here: the predictor that tags windows of sentences with a loaded model (``predictor``), the
``--jobs`` worker processes (``jobs``, ``preload``), tagging a corpus on Dask (``dask``) and the writers
(``writer``, ``html``). It uses the network and the data rooms, never training or the command line.
"""
