"""The HTTP service room: ``tagger serve``, a web app over one loaded model.

It needs the ``serve`` extra (Starlette, uvicorn, prometheus-client); the command line imports it only inside
the ``serve`` command, so ``tagger --help`` never loads it.
"""
