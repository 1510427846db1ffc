"""Hub access fails fast and names the offline alternative; no test touches the network."""

import socket
import time

import pytest

from codegen_lib.hub import (
    HubUnavailableError,
    ensure_hub_reachable,
    hub_errors,
    hub_offline,
    is_connection_error,
)

ALT = 'load_corpus("xlcost", data_dir=...)'


def _online(monkeypatch, endpoint: str) -> None:
    for flag in (
        "HF_HUB_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HTTPS_PROXY",
        "https_proxy",
    ):
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)


def test_error_is_a_runtime_error():
    assert issubclass(HubUnavailableError, RuntimeError)


def test_offline_flag_fails_at_once_and_names_alternative():
    assert hub_offline()  # conftest sets HF_HUB_OFFLINE=1
    t0 = time.perf_counter()
    with pytest.raises(HubUnavailableError) as info:
        ensure_hub_reachable("the XLCoST dataset", ALT)
    assert time.perf_counter() - t0 < 0.5
    msg = str(info.value)
    assert ALT in msg and "the XLCoST dataset" in msg and "tasks" in msg and "offline" in msg.lower()


@pytest.mark.parametrize(
    "value,expected", [("0", False), ("", False), ("1", True), ("true", True), ("ON", True)]
)
def test_hub_offline_reads_env_at_call_time(monkeypatch, value, expected):
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", value)
    assert hub_offline() is expected


def test_refused_endpoint_fails_fast(monkeypatch):
    with socket.socket() as s:  # find a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _online(monkeypatch, f"http://127.0.0.1:{port}")
    t0 = time.perf_counter()
    with pytest.raises(HubUnavailableError) as info:
        ensure_hub_reachable("the Alpaca dataset", "a local file", timeout=2.0)
    assert time.perf_counter() - t0 < 3.0
    assert f"127.0.0.1:{port}" in str(info.value) and "a local file" in str(info.value)


def test_reachable_endpoint_passes(monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        _online(monkeypatch, f"http://127.0.0.1:{server.getsockname()[1]}")
        assert ensure_hub_reachable("x", "y", timeout=2.0) is None


def test_hub_errors_converts_connection_errors():
    with pytest.raises(HubUnavailableError) as info:
        with hub_errors("the tokenizer", "train_tokenizer(texts)"):
            raise ConnectionError("Couldn't reach 'codellama/CodeLlama-7b-Python-hf' on the Hub")
    assert "train_tokenizer(texts)" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionError)


def test_connection_error_found_by_class_name_in_cause_chain():
    class ConnectTimeout(Exception):  # what httpx / requests raise, recognised without importing them
        pass

    try:
        try:
            raise ConnectTimeout("timed out")
        except ConnectTimeout as inner:
            raise OSError("could not load the file") from inner
    except OSError as outer:
        assert is_connection_error(outer)
    assert not is_connection_error(ValueError("bad dataset name"))


def test_hub_errors_lets_other_errors_through():
    with pytest.raises(KeyError):
        with hub_errors("x", "y"):
            raise KeyError("code")
