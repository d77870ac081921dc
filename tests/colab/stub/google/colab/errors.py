"""Stand-in for ``google.colab.errors``."""


class Error(Exception):
    """Base class of Colab's errors."""
