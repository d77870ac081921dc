"""A stand-in for Google Colab's ``google.colab`` package, for the Colab simulation in tests.

Only what libraries and notebooks probe: its presence in ``sys.modules`` (how the course's
setup cell, transformers and others detect Colab) and a few submodules. Nothing in the
course's notebooks imports it; the simulation imports it at kernel start, as Colab does.
"""

from . import drive, errors, files, output, userdata  # noqa: F401

__version__ = "0.0.0+simulation"
