"""The training room: a data set in, a model file out.

It may use the tagging room (the dev set is scored by tagging it), the network and the data, never the
command line.
"""
