"""The network room: arrays -> tensors -> scores, and the model file.

What belongs here: the configs saved in a model file (``config``), the BiLSTM encoder and its CRF
(``model``, ``crf``), batch tensors (``tensors``), torch's process settings (``device``), the model file and
the checkpoint it is written as (``model_file``, ``checkpoint``), ensembles (``ensemble``), the torch backend
that tagging runs a model through (``network``), the shipped models (``shipped``) and the ONNX export
(``export``, read back without torch by ``tagger.runtime``). It uses the data room and nothing above it: no
training loop, no tagging of files, no command line.
"""
