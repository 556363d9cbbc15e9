"""The training room: a data set in, a model file out.

What belongs here: the training loop in named stages (``loop``: ``train``), the data sets of a run
(``data``), the model and its optimizer step (``trainer``), where a run stands (``run``), the files that
keep its work and ``--resume`` (``checkpoints``), scoring against gold tags
(``evaluation``), data-parallel training under torchrun (``distributed``), the signals that stop a run
cleanly (``interrupts``), and the options of ``tagger train`` and ``tagger.train`` made into a run
(``options``). It may use the tagging room (the dev set is scored by tagging it), the network and the data,
never the command line.
"""
