"""codegen_lib.viz.positional: the sinusoid heatmap equals the table; dot products by distance (chapter 03)."""


import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from viz_fixtures import sinusoid  # noqa: E402

from codegen_lib import viz  # noqa: E402


def test_plot_positional_encoding_heatmap_equals_table():
    pe = sinusoid(50, 16)
    fig = viz.plot_positional_encoding(torch.tensor(pe), max_pos=30, min_pos=10)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), pe[0, 10:30], rtol=1e-6)
    assert len(fig.axes) == 2

    class Module:  # anything with a `pe` buffer, like PositionalEncoding
        def __init__(self):
            self.pe = torch.tensor(pe)

    assert viz.plot_positional_encoding(Module()).axes[0].images[0].get_array().shape == (50, 16)
    with pytest.raises(ValueError, match="max_pos"):
        viz.plot_positional_encoding(pe, max_pos=60)


def test_pe_dot_product_depends_only_on_distance():
    pe = sinusoid(80, 32)
    curves = viz.pe_dot_by_distance(pe, ref_positions=(0, 10, 30), max_offset=40)
    np.testing.assert_allclose(curves[0], curves[10], atol=1e-9)
    np.testing.assert_allclose(curves[0], curves[30], atol=1e-9)
    assert curves[0][0] == pytest.approx(16.0)  # sin^2 + cos^2 summed over D/2 frequencies
    fig = viz.plot_pe_similarity(pe, ref_positions=(0, 10), max_offset=40)
    assert len(fig.axes) == 3  # matrix, its colorbar, curves
    line = fig.axes[1].lines[1] if len(fig.axes[1].lines) > 1 else fig.axes[2].lines[1]
    np.testing.assert_allclose(line.get_ydata(), [pe[0, 10] @ pe[0, 10 + k] for k in range(41)])
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), pe[0] @ pe[0].T)
    with pytest.raises(ValueError, match="outside the table"):
        viz.pe_dot_by_distance(pe, ref_positions=(100,))
