"""Stand-in for ``google.colab.files`` (browser up/downloads)."""


def download(filename: str) -> None:
    print(f"[colab simulation] would download {filename} to the browser")


def upload(target_dir: str = ""):
    raise RuntimeError("files.upload() needs a browser (Colab simulation)")
