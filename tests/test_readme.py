"""The README lists the twelve days: written ones linked with a Colab badge, others 'coming'."""

import re

import pytest

from conftest import ROOT
from mlcourse.colab import badge, repo_url

pytestmark = pytest.mark.repository  # not repeated by the Colab leg: nothing here depends on the installed stack

README = (ROOT / "README.md").read_text("utf-8")
URL = repo_url(ROOT / "pyproject.toml")


def _rows() -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| (\d\d) \|.*$", README, re.M)}


def test_twelve_days_listed():
    assert sorted(_rows()) == [f"{d:02d}" for d in range(1, 13)]


def test_written_days_are_linked_with_badges_and_others_are_coming():
    written = {p.name[:2]: p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    for day, row in _rows().items():
        if day in written:
            assert f"(notebooks/{written[day]})" in row, f"day {day}: link to the notebook"
            assert badge(URL, written[day]) in row, f"day {day}: Colab badge out of date"
            assert "coming" not in row
        else:
            assert "coming" in row and "notebooks/" not in row, f"day {day}: not written yet"


def test_commands_documented():
    for cmd in ("make lab", "make test", "make bench", "make data"):
        assert cmd in README
