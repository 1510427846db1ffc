"""codegen_lib.pretrained: the book model is trained once, cached, checked, and a shipped one wins."""

import json
import shutil

import pytest
import torch

import codegen_lib
from codegen_lib import pretrained
from codegen_lib.pretrained import book_recipe, cache_entry, load_book_model, recipe_key
from codegen_lib.train import CheckpointError

# A budget of seconds: 48 training rows, a 300-token vocabulary, a 1-layer d_model=16 model, 2 steps.
TINY = {
    "train_rows": 48,
    "val_rows": 8,
    "tokenizer": {"vocab_size": 300},
    "model": {"d_model": 16, "num_heads": 2, "num_layers": 1, "d_ff": 32, "max_src_len": 32, "max_tgt_len": 48},
    "train": {"max_steps": 2, "batch_size": 8, "warmup_steps": 1, "epochs": 1},
}


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _no_training(*args, **kwargs):
    raise AssertionError("train_book_model must not run: the model should come from the cache or artifacts")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train the tiny recipe once into a module cache; tests copy the entry instead of retraining."""
    cache = tmp_path_factory.mktemp("cache")
    model, tok, info = load_book_model(cache_dir=cache, recipe=TINY, artifacts=cache / "no-artifacts")
    return cache, model, tok, info


def _copy_cache(trained, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(trained[0], cache)
    return cache


def test_first_call_trains_and_fills_the_cache(trained):
    cache, model, tok, info = trained
    assert info["source"] == "trained"
    entry = cache_entry(cache_dir=cache, recipe=TINY)
    assert info["run_dir"] == str(entry)
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["key"] == recipe_key(book_recipe("book-tiny", TINY))
    assert manifest["recipe"]["model"]["d_model"] == 16
    assert (entry / "best" / "model.safetensors").is_file() and (entry / "history.json").is_file()
    history = json.loads((entry / "history.json").read_text())
    assert len(history["steps"]) == 2  # the fixed step budget, not a time budget
    assert model.config.d_model == 16 and tok.vocab_size == model.config.src_vocab_size
    assert not model.training
    assert not list(cache.glob(".*tmp*")), "the temporary training directory was left behind"


def test_second_call_loads_from_the_cache_without_training(trained, tmp_path, monkeypatch):
    cache = _copy_cache(trained, tmp_path)
    monkeypatch.setattr(pretrained, "train_book_model", _no_training)
    model, tok, info = load_book_model(cache_dir=cache, recipe=TINY, artifacts=tmp_path / "none")
    assert info["source"] == "cache"
    expected = _weights(trained[1])
    assert all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())
    assert tok.encode("def f(x):") == trained[2].encode("def f(x):")


def test_missing_model_without_training_raises_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="train_if_missing=True"):
        load_book_model(cache_dir=tmp_path, recipe=TINY, train_if_missing=False, artifacts=tmp_path / "none")


def _corrupt_weights(entry):
    weights = entry / "best" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    for i in range(len(data) - 64, len(data) - 32):  # flip bytes inside the tensor data, keep the header
        data[i] ^= 0xFF
    weights.write_bytes(bytes(data))


def test_corrupt_cache_entry_raises_when_training_is_off(trained, tmp_path):
    cache = _copy_cache(trained, tmp_path)
    _corrupt_weights(cache_entry(cache_dir=cache, recipe=TINY))
    with pytest.raises(CheckpointError, match="checksum"):
        load_book_model(cache_dir=cache, recipe=TINY, train_if_missing=False, artifacts=tmp_path / "none")


def test_corrupt_cache_entry_is_retrained_with_a_warning(trained, tmp_path):
    cache = _copy_cache(trained, tmp_path)
    entry = cache_entry(cache_dir=cache, recipe=TINY)
    (entry / "manifest.json").write_text("{ not json")
    with pytest.warns(UserWarning, match="corrupt"):
        model, _, info = load_book_model(cache_dir=cache, recipe=TINY, artifacts=tmp_path / "none")
    assert info["source"] == "trained"
    json.loads((entry / "manifest.json").read_text())  # a valid entry again
    # the recipe is deterministic: retraining gives the same weights as the first training
    expected = _weights(trained[1])
    assert all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())


def test_shipped_artifact_takes_precedence(trained, tmp_path, monkeypatch):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(cache_entry(cache_dir=trained[0], recipe=TINY), artifacts / "book-tiny")
    monkeypatch.setattr(pretrained, "train_book_model", _no_training)
    empty_cache = tmp_path / "empty-cache"
    _, _, info = load_book_model(cache_dir=empty_cache, recipe=TINY, artifacts=artifacts, train_if_missing=False)
    assert info["source"] == "artifacts"
    assert info["history_path"] is not None
    assert not empty_cache.exists()
    # a broken shipped checkpoint is a bug in the repository: it raises instead of being retrained over
    shutil.rmtree(artifacts / "book-tiny" / "best" / "tokenizer")
    shutil.rmtree(artifacts / "book-tiny" / "last")
    with pytest.raises(CheckpointError, match="tokenizer"):
        load_book_model(cache_dir=empty_cache, recipe=TINY, artifacts=artifacts)


def test_retrain_trains_even_when_cached(trained, tmp_path, monkeypatch):
    cache = _copy_cache(trained, tmp_path)
    calls = []
    real = pretrained.train_book_model

    def counting(*args, **kwargs):
        calls.append(kwargs.get("callbacks"))
        return real(*args, **kwargs)

    monkeypatch.setattr(pretrained, "train_book_model", counting)
    steps = []
    _, _, info = load_book_model(cache_dir=cache, recipe=TINY, retrain=True, artifacts=tmp_path / "none",
                                 callbacks=[lambda state: steps.append(state["step"])])
    assert info["source"] == "trained" and len(calls) == 1
    assert steps == [1, 2]  # the callback saw every step of the live run


def test_recipe_overrides_and_keys():
    base = book_recipe()
    assert base == book_recipe("book-tiny") and base is not pretrained.BOOK_RECIPES["book-tiny"]
    changed = book_recipe("book-tiny", {"train": {"max_steps": 5}})
    assert changed["train"]["max_steps"] == 5 and changed["train"]["lr"] == base["train"]["lr"]  # merged
    assert recipe_key(changed) != recipe_key(base)
    assert recipe_key(book_recipe()) == recipe_key(base)
    with pytest.raises(ValueError, match="known recipes"):
        book_recipe("book-huge")
    with pytest.raises(ValueError, match="unknown recipe key"):
        book_recipe("book-tiny", {"epochz": 3})
    with pytest.raises(ValueError, match="must be a dict"):
        book_recipe("book-tiny", {"model": 64})


def test_library_version_changes_the_cache_key(monkeypatch):
    before = recipe_key(book_recipe())
    monkeypatch.setattr(codegen_lib, "__version__", "999.0")
    assert recipe_key(book_recipe()) != before


def test_default_cache_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEGEN_CACHE_DIR", str(tmp_path / "c"))
    assert pretrained.default_cache_dir() == tmp_path / "c"
    assert cache_entry().parent == tmp_path / "c"
    assert cache_entry().name.startswith("book-tiny-")


def test_export_checkpoint_halves_the_weights_and_loads_back(trained, tmp_path):
    cache, model, _, _ = trained
    entry = cache_entry(cache_dir=cache, recipe=TINY)
    out = pretrained.export_checkpoint(entry, tmp_path / "shipped", extra={"train_machine": "test"})
    src_size = next(entry.rglob("model.safetensors")).stat().st_size
    assert (out / "model.safetensors").stat().st_size < 0.6 * src_size  # fp16: about half of fp32
    config = json.loads((out / "config.json").read_text())
    assert config["weights_dtype"] == "float16" and config["train_machine"] == "test"
    assert not (out / "optimizer.pt").exists()  # inference only: no optimizer state shipped
    from codegen_lib.train import load_checkpoint

    loaded, tok, _ = load_checkpoint(out)
    assert next(loaded.parameters()).dtype == torch.float32  # read back into a float32 model
    for k, v in model.state_dict().items():
        assert torch.allclose(loaded.state_dict()[k], v.float(), atol=1e-2, rtol=1e-2), k
    with pytest.raises(ValueError, match="dtype"):
        pretrained.export_checkpoint(entry, tmp_path / "bad", dtype="int8")


def test_default_name_prefers_the_shipped_model(trained, tmp_path, monkeypatch):
    cache = trained[0]
    artifacts = tmp_path / "artifacts"
    pretrained.export_checkpoint(cache_entry(cache_dir=cache, recipe=TINY), artifacts / pretrained.SHIPPED_MODEL)
    monkeypatch.setattr(pretrained, "train_book_model", _no_training)
    _, _, info = load_book_model(cache_dir=tmp_path / "empty", artifacts=artifacts, train_if_missing=False)
    assert info["source"] == "artifacts" and info["name"] == pretrained.SHIPPED_MODEL
    # a recipe override (chapter 08's undertrained model) means the book-tiny recipe, never the shipped model
    _, _, info = load_book_model(cache_dir=cache, recipe=TINY, artifacts=artifacts)
    assert info["name"] == "book-tiny" and info["source"] == "cache"
    # without a shipped model the default is the book-tiny recipe
    with pytest.raises(CheckpointError, match="book-tiny"):
        load_book_model(cache_dir=tmp_path / "empty", artifacts=tmp_path / "none", train_if_missing=False)


def test_display_path_never_shows_the_machine(tmp_path, monkeypatch):
    root = pretrained.artifacts_dir().parent
    assert pretrained.display_path(root / "artifacts" / "mix-improved" / "history.json") == (
        "artifacts/mix-improved/history.json")
    monkeypatch.setenv("CODEGEN_CACHE_DIR", str(tmp_path / "cache"))
    assert pretrained.display_path(tmp_path / "cache" / "book-tiny-1" / "best") == "<cache>/book-tiny-1/best"
    elsewhere = pretrained.display_path("/opt/some/machine/place/run")
    assert elsewhere == ".../place/run" and "/opt" not in elsewhere


def test_model_card_shows_long_values_whole():
    from codegen_lib.config import ModelConfig
    from codegen_lib.model import build_model
    from codegen_lib.pretrained import model_card

    model = build_model(ModelConfig.preset("tiny", src_vocab_size=50, tgt_vocab_size=50))
    data = "mix: library code, MBPP/CoNaLa/GfG/Django train, XLCoST validation, tasks (offline)"
    card = model_card(model, {"name": "m", "training_data": data})
    assert data in card._repr_html_() and data in repr(card)
    assert "..." not in card._repr_html_()
    assert card.loc["trained on", "value"] == data  # still a DataFrame
