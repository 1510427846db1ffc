"""codegen_lib.viz.data: length histograms (chapter 01)."""


import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from viz_fixtures import FakeTokenizer  # noqa: E402

from codegen_lib import viz  # noqa: E402


def test_plot_length_distributions_dataframe_with_tokens():
    df = pd.DataFrame({"prompt": ["a b c", "a", "a b c d e f", "x y"],
                       "code": ["x = 1", "y = 2\nz = 3", "pass", "return 1"],
                       "split": ["train", "train", "test", "test"]})
    tok = FakeTokenizer()
    fig = viz.plot_length_distributions(df, tokenizer=tok, max_tokens={"prompt": 4}, max_chars=5)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["prompt length (chars)", "code length (chars)", "prompt length (tokens)",
                      "code length (tokens)"]
    token_prompt_ax = fig.axes[2]
    assert [ln.get_xdata()[0] for ln in token_prompt_ax.lines] == [4]
    longer = np.mean([len(tok.encode(p)) > 4 for p in df["prompt"]])  # "a b c" (5), "a b c d e f" (11)
    assert f"{longer:.1%} longer" in token_prompt_ax.texts[0].get_text()
    assert not fig.axes[3].lines  # no token limit given for code
    assert fig.axes[0].get_legend() is not None  # one hue per split


def test_plot_length_distributions_nested_mapping_and_errors():
    data = {"tasks": {"train": {"prompt": ["a", "bb"], "code": ["c", "dd"]},
                      "test": [{"prompt": "eee", "code": "f"}]},
            "xlcost": pd.DataFrame({"prompt": ["g"], "code": ["hhhh"]})}
    fig = viz.plot_length_distributions(data, columns=("code",))
    assert len(fig.axes) == 1
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["tasks/train", "tasks/test", "xlcost"]
    with pytest.raises(ValueError, match="columns \\['missing'\\] not found"):
        viz.plot_length_distributions(data, columns=("missing",))


# -------------------------------------------------------------------------------------- chapter 07
