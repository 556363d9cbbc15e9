"""Run the command line from a checkout without installing it: ``python cli.py tag input.txt``.

The installed ``tagger`` command is ``tagger.cli:app``; this launcher is not part of the package.
"""

from tagger.cli import app

if __name__ == "__main__":
    app()
