"""Plots, widgets and HTML views for the book's chapters, one module per kind of view (chapter in brackets):

    data          (01)  plot_length_distributions
    tokens        (02)  token_table, token_html
    positional    (03)  plot_positional_encoding, plot_pe_similarity, pe_dot_by_distance
    attention     (04, 10)  plot_attention, plot_mask, plot_heads, select_attention, attention_grid,
                        top_attended, explain_pairs
    architecture  (06)  plot_architecture: the encoder-decoder drawn from a ModelConfig
    training      (07)  LiveLossPlot, history_series, plot_history
    widgets       (02, 03, 04, 10)  ipywidgets for readers with a kernel: tokenizer_widget,
                        positional_encoding_widget, attention_widget, attention_explorer
    html          (04, 10)  attention_view_html / AttentionView: a self-contained HTML+JS attention view that
                        responds in the browser with no kernel; code_html: library source, highlighted;
                        markdown_table: a pipe table as a DataFrame (an HTML table)
    results       (09)  results_tables: one small table per question; plot_results_vs_report

Everything is re-exported here, so ``from codegen_lib.viz import plot_attention`` works whichever module
holds it. Attention comes in bertviz's format: ``{"encoder": [...], "decoder": [...], "cross": [...]}``,
one ``(B, H, T_q, T_k)`` tensor per layer.
"""

from codegen_lib.viz._common import (
    ATTENTION_KINDS,
    SPECIAL_TOKENS,
    _in_notebook,
    _new_figure,
    figure_to_png,
    pretty_token,
    show,
)
from codegen_lib.viz.architecture import architecture_labels, plot_architecture
from codegen_lib.viz.attention import (
    _normalise_attentions,
    attention_grid,
    explain_pairs,
    plot_attention,
    plot_heads,
    plot_mask,
    select_attention,
    top_attended,
)
from codegen_lib.viz.data import plot_length_distributions
from codegen_lib.viz.html import (
    AttentionView,
    attention_view,
    code_html,
    decode_view_data,
    markdown_table,
    show_source,
)
from codegen_lib.viz.results import plot_results_vs_report, results_style, results_tables
from codegen_lib.viz.positional import pe_dot_by_distance, plot_pe_similarity, plot_positional_encoding
from codegen_lib.viz.tokens import token_html, token_table
from codegen_lib.viz.training import LiveLossPlot, history_series, plot_history
from codegen_lib.viz.widgets import (
    attention_explorer,
    attention_widget,
    positional_encoding_widget,
    tokenizer_widget,
)

__all__ = [
    "ATTENTION_KINDS", "SPECIAL_TOKENS", "AttentionView", "LiveLossPlot", "architecture_labels",
    "attention_view", "code_html", "decode_view_data", "markdown_table", "plot_architecture", "show_source", "attention_explorer", "attention_grid",
    "attention_widget", "explain_pairs", "figure_to_png", "history_series", "pe_dot_by_distance",
    "plot_attention", "plot_heads", "plot_history", "plot_length_distributions", "plot_mask",
    "plot_pe_similarity", "plot_positional_encoding", "positional_encoding_widget", "pretty_token",
    "plot_results_vs_report", "results_style", "results_tables",
    "select_attention", "show", "token_html", "token_table", "tokenizer_widget", "top_attended",
    "_in_notebook", "_new_figure", "_normalise_attentions",
]
