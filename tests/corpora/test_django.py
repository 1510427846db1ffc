"""Django (codegen_lib.corpora.django): the line-order split, misaligned files."""


import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.data import load_corpus

RAW = SHARED_DATA / "raw"


def _need(sub: str):
    return require_shared(RAW / sub)



# ---------------------------------------------------------------------------------------------------------------
# Django
# ---------------------------------------------------------------------------------------------------------------
def test_django_real_split():
    dd, report = load_corpus("django", data_dir=_need("django"), return_report=True)
    assert {k: len(v) for k, v in dd.items()} == {"train": 16000, "validation": 1000, "test": 1805}
    assert dd["train"][1]["prompt"] == "import module warnings." and dd["train"][1]["code"] == "import warnings\n"
    assert dd["test"][0]["id"] == "django-17000"
    assert report.dropped == 0


def test_django_misaligned_files(tmp_path):
    (tmp_path / "all.anno").write_text("a\nb\n")
    (tmp_path / "all.code").write_text("x = 1\n")
    with pytest.raises(ValueError, match="lines"):
        load_corpus("django", data_dir=tmp_path)


@pytest.mark.parametrize("name", ["gfg", "django"])
def test_no_hub_copy_is_a_clear_error(name):
    with pytest.raises(ValueError, match="no hub copy"):
        load_corpus(name)
