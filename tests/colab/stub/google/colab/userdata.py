"""Stand-in for ``google.colab.userdata`` (Colab's secrets, e.g. HF_TOKEN): none are set."""

from .errors import Error


class SecretNotFoundError(Error):
    pass


class NotebookAccessError(Error):
    pass


def get(key: str) -> str:
    raise SecretNotFoundError(f"Secret {key} does not exist.")
