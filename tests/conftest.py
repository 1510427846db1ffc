"""Shared fixtures. Real data lives in ../shared/data (never copied into the repo)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CODEGEN_SHARED_DATA", REPO.parent / "shared" / "data"))
XLCOST_DIR = SHARED_DATA / "raw" / "xlcost"

# Tests never reach a hub. Set before any test module imports huggingface_hub/datasets, which read these
# variables at import time; the autouse fixture below re-asserts them for every test.
for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_var] = "1"


def require_shared(path: Path, what: str = "real data") -> Path:
    """``path`` (under ../shared/data) if it exists. Otherwise the test skips, or fails under ``CI=true``:
    CI has the real data, so a missing copy there is a broken set-up, not a reason to skip."""
    if not path.exists():
        message = f"{what} not found at {path} (../shared/data is absent)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI=true needs it")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def xlcost_dir() -> Path:
    """The real XLCoST release files; tests that need them skip when ../shared is absent (fail in CI)."""
    require_shared(XLCOST_DIR / "pair_data_tok_full_desc" / "Python-desc", "real XLCoST files")
    return XLCOST_DIR


@pytest.fixture(autouse=True)
def _offline_hub(monkeypatch):
    """Tests never reach a hub: make any accidental download fail fast instead of hanging."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny tensors: one intra-op thread is faster than two on a shared 2-core runner (and deterministic)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
