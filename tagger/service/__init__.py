"""The HTTP service room: ``tagger serve``, a web app over one loaded model.

What belongs here: the ASGI app and its routes (``app``), reading and checking request bodies (``requests``),
the dynamic batcher that lets requests arriving together share one forward pass (``batcher``), the object
that tags a batch with the model (``model``), the page served at ``/`` (``page``), the OpenAPI schema
(``openapi``) and the uvicorn server with its limits, time-outs and shutdown (``server``). It needs the
``serve`` extra (Starlette, uvicorn, prometheus-client). It leans on the Python API and the tagging room;
the command line imports it only inside the ``serve`` command, so ``tagger --help`` never loads it.
"""
