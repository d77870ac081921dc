"""Stand-in for ``google.colab.drive``: mounting needs a Google account, so it refuses plainly."""


def mount(mountpoint: str, force_remount: bool = False, timeout_ms: int = 120000, readonly: bool = False) -> None:
    raise RuntimeError(f"drive.mount({mountpoint!r}): no Google Drive in the Colab simulation")


def flush_and_unmount(timeout_ms: int = 24 * 60 * 60 * 1000) -> None:
    pass
