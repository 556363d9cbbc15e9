"""The data room: files -> sentences -> arrays, never importing torch.

What belongs here: reading CoNLL columns and raw text (``reader``), CoNLL-U (``conllu``), the exports of
annotation tools and ``tag --format jsonl`` output (``annotations``), a data file read in its format
(``formats``), tag schemes (``schemes``), finding and checking a data set (``corpus``), vocabularies
(``vocabulary``), the tokenizer (``tokenizer``), pretrained vectors read as plain arrays (``embeddings``), an
input read into windows of sentences (``inputs``), cut into chunks (``chunks``) and made ready for the network
(``windows``, ``arrays``) in reader processes (``workers``), the plain records that tagging returns
(``types``), and output files written whole (``output``). Nothing here imports torch or any other room of the
package (an import contract checks it), so a reader process and ``tagger --help`` start quickly.
"""
