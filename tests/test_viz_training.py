"""codegen_lib.viz.training: live loss curve and saved history (chapter 07)."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from codegen_lib import viz  # noqa: E402


class ObjState:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_live_loss_plot_records_and_is_silent_outside_notebooks():
    cb = viz.LiveLossPlot(every=1, min_interval_s=0)
    for step in range(1, 5):
        cb.on_step_end({"step": step, "loss": torch.tensor(5.0 - step), "lr": 1e-3 * step, "epoch": 0})
    cb.on_epoch_end(ObjState(step=4, loss=1.0, lr=4e-3, epoch=0, val_loss=2.5))
    cb.on_train_end({"step": 4, "epoch": 0, "val_loss": 2.5})  # the same evaluation again: not duplicated
    cb.on_step_end(ObjState(step=5, loss=0.5, lr=None, epoch=1, val_loss=None))
    h = cb.history()
    assert h["step"] == [1, 2, 3, 4, 5] and h["loss"] == [4.0, 3.0, 2.0, 1.0, 0.5]
    assert h["lr"][:2] == [1e-3, 2e-3] and h["lr"][-1] is None
    assert h["val_step"] == [4] and h["val_loss"] == [2.5] and h["val_epoch"] == [0]
    assert cb.draws == 0  # no kernel: nothing displayed
    fig = cb.figure()
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), h["loss"])
    with pytest.raises(ValueError, match="every"):
        viz.LiveLossPlot(every=0)


def test_live_loss_plot_updates_one_display_in_a_notebook(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    monkeypatch.setattr(viz.training, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, display_id=False: shown.append(("display", obj)) or Handle())
    cb = viz.LiveLossPlot(every=2, min_interval_s=0)
    for step in range(1, 6):
        cb.on_step_end({"step": step, "loss": 1.0 / step})
    cb.on_train_end({"step": 5})
    assert [kind for kind, _ in shown] == ["display", "update", "update"]  # steps 2, 4, end
    assert cb.draws == 3 and isinstance(shown[-1][1], matplotlib.figure.Figure)


def test_plot_history_formats_and_side_by_side(tmp_path):
    shipped = {"step": [1, 2, 3, 4], "loss": [4.0, 3.0, 2.5, 2.0], "epoch": [1, 2], "val_loss": [3.2, 2.8]}
    (tmp_path / "history.json").write_text(json.dumps(shipped))
    s = viz.history_series(tmp_path)  # a checkpoint directory
    np.testing.assert_allclose(s["val_step"], [2, 4])  # epochs placed proportionally along the steps
    records = {"train": [{"step": i, "loss": 3.0 - i / 10, "epoch": i // 3} for i in range(1, 7)],
               "val": [{"epoch": 0, "val_loss": 2.9}, {"epoch": 1, "val_loss": 2.7}]}
    s = viz.history_series(records)
    np.testing.assert_allclose(s["val_step"], [2, 5])  # last step of each epoch
    live = viz.LiveLossPlot()
    live.on_step_end({"step": 1, "loss": 3.0, "val_loss": 3.5})
    fig = viz.plot_history(live, other=tmp_path / "history.json", labels=("live", "shipped"))
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == ["live", "shipped"]
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), shipped["loss"])
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), shipped["val_loss"])
    smoothed = viz.plot_history(shipped, smooth=0.5)
    assert len(smoothed.axes[0].lines) == 3  # raw, smoothed, validation
    with pytest.raises(ValueError, match="no training losses"):
        viz.history_series({"val_loss": [1.0]})
    with pytest.raises(ValueError, match="no history file"):
        viz.history_series(tmp_path / "nope")


def test_plot_history_reads_the_trainer_format():
    """codegen_lib.train's history.json: step records, epoch records and mid-epoch evaluations (step_val)."""
    history = {"format_version": 1,
               "steps": [{"step": i, "epoch": (i - 1) // 3, "loss": 4.0 - i / 3, "lr": 1e-3} for i in range(1, 7)],
               "epochs": [{"epoch": 0, "step": 3, "train_loss": 3.5, "val_loss": 3.6},
                          {"epoch": 1, "step": 6, "train_loss": 2.5, "val_loss": 2.7}],
               "step_val": [{"step": 2, "val_loss": 3.9}, {"step": 4, "val_loss": 3.1}]}
    s = viz.history_series(history)
    np.testing.assert_allclose(s["loss"], [4.0 - i / 3 for i in range(1, 7)])
    np.testing.assert_allclose(s["val_step"], [2, 3, 4, 6])
    np.testing.assert_allclose(s["val_loss"], [3.9, 3.6, 3.1, 2.7])
    cb = viz.LiveLossPlot()
    cb.on_step_end({"step": 2, "epoch": 0, "loss": 3.3, "lr": 1e-3, "history": {"step_val": history["step_val"][:1]}})
    assert cb.history()["val_loss"] == [3.9]


def test_live_loss_plot_as_a_trainer_callback(tmp_path):
    from codegen_lib import config as config_mod
    from codegen_lib import tokenizer as tok_mod
    from codegen_lib import train as train_mod

    rows = [{"prompt": f"add {i} to x", "code": f"def f(x):\n    return x + {i}\n"} for i in range(16)]
    tok = tok_mod.train_tokenizer([r[k] for r in rows for k in ("prompt", "code")], vocab_size=300)
    mcfg = config_mod.ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                                         max_src_len=16, max_tgt_len=24)
    tcfg = train_mod.TrainConfig.preset("tiny", max_steps=4, epochs=2, eval_every=3, progress=False)
    cb = viz.LiveLossPlot()
    history = train_mod.train(mcfg, tcfg, tok, rows[:12], rows[12:], tmp_path / "run", callbacks=[cb])
    rec = cb.history()
    assert rec["step"] == [s["step"] for s in history["steps"]]
    np.testing.assert_allclose(rec["loss"], [s["loss"] for s in history["steps"]])
    expected_val = sorted({(v["step"], v["val_loss"]) for v in history["step_val"] + history["epochs"]
                           if v["val_loss"] is not None})
    assert list(zip(rec["val_step"], rec["val_loss"])) == expected_val
    s = viz.history_series(tmp_path / "run")
    np.testing.assert_allclose(s["loss"], rec["loss"])
    assert list(zip(s["val_step"], s["val_loss"])) == expected_val
