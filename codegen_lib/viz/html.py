"""Self-contained HTML+JS views that respond in the browser with no kernel (chapters 04, 06, 07, 08, 10).

Readers of the static book have no kernel, so an ipywidget there shows a frozen first view. The views here
carry their data inside the page and redraw in JavaScript:

    04 attention, 10 attention explorer   attention_view / AttentionView: pick the example, the direction
                                          (encoder, decoder, cross), the layer and the head (or their mean);
                                          the heatmap and the token links (bertviz's lines) change
    06, 07, 08 (code on the page)         code_html / show_source: library source, syntax-highlighted

The attention weights are stored as one byte per weight (``round(w * 255)``, so each is within 1/510 of the
original) and base64-encoded; three examples of a 6 + 6 layer, 4 head model on 40-token sequences make
about half a megabyte of page. The view works in Jupyter too (``_repr_html_``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from codegen_lib.viz._common import ATTENTION_KINDS, pretty_token
from codegen_lib.viz.attention import is_nested, normalise_attentions, select_attention

_KIND_LABELS = {"encoder": "encoder self-attention (prompt → prompt)",
                "decoder": "decoder self-attention (code → code)",
                "cross": "cross-attention (code → prompt)"}


def _quantise(a: np.ndarray) -> str:
    """Weights in [0, 1] -> one byte each (w * 255, rounded) -> base64 text."""
    q = np.clip(np.rint(np.asarray(a, dtype=float) * 255.0), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _example_record(att: Mapping[str, list[np.ndarray]], src: Sequence[str], tgt: Sequence[str], label: str,
                    header: str | None) -> dict[str, Any]:
    """One example (batch size 1, padding already cropped) as the JSON the page's script reads."""
    kinds = {}
    for kind, layers in att.items():
        stack = np.stack([layer[0] for layer in layers])  # (L, H, T_q, T_k)
        n_layers, n_heads, n_q, n_k = stack.shape
        kinds[kind] = {"layers": n_layers, "heads": n_heads, "q": n_q, "k": n_k, "data": _quantise(stack)}
    return {"label": label, "src": [pretty_token(t) for t in src], "tgt": [pretty_token(t) for t in tgt],
            "kinds": kinds, "header": header or ""}


def _examples_from(attentions: Any, src_tokens: Any, tgt_tokens: Any, labels: Sequence[str] | None,
                   headers: Sequence[str] | None) -> list[dict[str, Any]]:
    """Records from explain_pairs' list of dicts, or from one bertviz dict for a (padded) batch."""
    if isinstance(attentions, Sequence) and attentions and isinstance(attentions[0], Mapping) \
            and "attentions" in attentions[0]:
        pairs = list(attentions)
        out = []
        for i, p in enumerate(pairs):
            header = (headers[i] if headers else
                      f"<b>prompt:</b> {html.escape(p.get('prompt', ''))}"
                      + (f"<pre class='cg-code'>{html.escape(p['code'])}</pre>" if p.get("code") else ""))
            label = labels[i] if labels else _short(p.get("prompt", f"example {i}"))
            out.append(_crop_one(normalise_attentions(p["attentions"]), p["src_tokens"], p["tgt_tokens"],
                                 0, label, header))
        return out
    att = normalise_attentions(attentions)
    batch = next(iter(att.values()))[0].shape[0]
    labels = list(labels) if labels is not None else [f"example {b}" for b in range(batch)]
    if len(labels) != batch:
        raise ValueError(f"{len(labels)} labels for a batch of {batch}")
    return [_crop_one(att, src_tokens, tgt_tokens, b, labels[b], headers[b] if headers else None)
            for b in range(batch)]


def _crop_one(att: dict[str, list[np.ndarray]], src_tokens: Any, tgt_tokens: Any, b: int, label: str,
              header: str | None) -> dict[str, Any]:
    one = {}
    for kind, layers in att.items():
        _, q, k = select_attention(att, src_tokens, tgt_tokens, kind=kind, layer=0, head=0, example=b)
        one[kind] = [a[b: b + 1, :, : len(q), : len(k)] for a in layers]  # (1, H, T_q, T_k) without padding
    src = list(src_tokens[b]) if is_nested(src_tokens) else list(src_tokens)
    tgt = list(tgt_tokens[b]) if is_nested(tgt_tokens) else list(tgt_tokens)
    n_src = one["encoder"][0].shape[-1] if "encoder" in one else one.get("cross", [np.zeros((1, 1, 1, len(src)))])[0].shape[-1]
    n_tgt = one["decoder"][0].shape[-1] if "decoder" in one else one.get("cross", [np.zeros((1, 1, len(tgt), 1))])[0].shape[-2]
    return _example_record(one, src[:n_src], tgt[:n_tgt], label, header)


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text[:n] + ("…" if len(text) > n else "")


class AttentionView:
    """A kernel-free attention view (chapters 04 and 10): controls for example, direction, layer and head;
    a heatmap (rows: queries, columns: keys) and bertviz-style token links that redraw in the browser.

    Build it with :func:`attention_view`. ``html`` is the complete fragment (markup, data and script);
    notebooks display it through ``_repr_html_``; ``save(path)`` writes a stand-alone page.
    """

    def __init__(self, examples: list[dict[str, Any]], *, title: str | None = None, kind: str = "cross"):
        if not examples:
            raise ValueError("an attention view needs at least one example")
        kinds = [k for k in ATTENTION_KINDS if k in examples[0]["kinds"]]
        if kind not in kinds:
            kind = kinds[0]
        self.examples, self.title, self.kind = examples, title, kind
        payload = json.dumps({"examples": examples, "kind": kind, "labels": _KIND_LABELS}, separators=(",", ":"))
        self.view_id = "cg-attn-" + hashlib.sha1(payload.encode()).hexdigest()[:10]
        self._payload = payload

    @property
    def html(self) -> str:
        title = f"<div class='cg-title'>{html.escape(self.title)}</div>" if self.title else ""
        data = self._payload.replace("</", "<\\/")  # a JSON string cannot close the <script> element
        return (f"<div class='cg-attn' id='{self.view_id}'>{_CSS}{title}"
                "<div class='cg-controls'></div><div class='cg-header'></div>"
                "<div class='cg-caption' data-role='caption'></div>"
                "<div class='cg-body'><div class='cg-heat' data-role='heatmap'></div>"
                "<div class='cg-links' data-role='links'></div></div>"
                f"<script type='application/json' class='cg-data'>{data}</script>"
                f"<script>{_JS}\ncgAttentionView(document.getElementById('{self.view_id}'));</script></div>")

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path) -> None:
        """Write a stand-alone HTML page holding only this view."""
        from codegen_lib.io import atomic_write_text

        atomic_write_text(path, f"<!doctype html><html><head><meta charset='utf-8'></head><body>{self.html}"
                          "</body></html>")


def attention_view(attentions: Any, src_tokens: Any = None, tgt_tokens: Any = None, *,
                   labels: Sequence[str] | None = None, headers: Sequence[str] | None = None,
                   title: str | None = None, kind: str = "cross") -> AttentionView:
    """A kernel-free attention view (chapters 04 and 10).

    Args:
        attentions: either :func:`~codegen_lib.viz.attention.explain_pairs`' list of pairs (each with
            ``attentions``, ``src_tokens``, ``tgt_tokens``, ``prompt``, ``code``), or one bertviz dict
            ``{"encoder": [...], "decoder": [...], "cross": [...]}`` of ``(B, H, T_q, T_k)`` per layer, with
            ``src_tokens``/``tgt_tokens`` for one example or one list per example (padding is cropped).
        labels: the example menu's entries (default: the prompts, or "example b").
        headers: HTML shown above the heatmap per example (default: the prompt and the code of a pair).
        kind: the direction shown first.
    Returns an :class:`AttentionView`.
    """
    return AttentionView(_examples_from(attentions, src_tokens, tgt_tokens, labels, headers), title=title,
                         kind=kind)


def decode_view_data(view: AttentionView) -> list[dict[str, Any]]:
    """The weights a view carries, back as arrays: ``[{kind: (L, H, T_q, T_k) float array}]`` per example
    (what the page's script reads; used by the tests)."""
    out = []
    for ex in json.loads(view._payload)["examples"]:
        kinds = {}
        for kind, rec in ex["kinds"].items():
            raw = np.frombuffer(base64.b64decode(rec["data"]), dtype=np.uint8).astype(float) / 255.0
            kinds[kind] = raw.reshape(rec["layers"], rec["heads"], rec["q"], rec["k"])
        out.append(kinds)
    return out


# --------------------------------------------------------------------------------------------- tables
def markdown_table(text: str, *, empty: Sequence[str] = ("—", "-", "")):
    """The first pipe table of a markdown text as a ``pandas.DataFrame`` (chapter 09's results table).

    Jupyter Book renders ``display(Markdown(...))`` with CommonMark, which has no tables, so a pipe table
    shows as a paragraph of pipes; a DataFrame renders as an HTML ``<table>``. Columns whose every cell is
    in ``empty`` are dropped. Returns the DataFrame and the text after the table (notes), as a tuple.
    """
    import pandas as pd

    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|")), None)
    if start is None or start + 1 >= len(lines) or set(lines[start + 1].replace("|", "").strip()) - set("-: "):
        raise ValueError("no pipe table (a header row, then a |---| separator row) in the text")
    stop = start
    while stop < len(lines) and lines[stop].lstrip().startswith("|"):
        stop += 1

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    head = cells(lines[start])
    body = [cells(line) for line in lines[start + 2: stop]]
    frame = pd.DataFrame(body, columns=head)
    keep = [c for c in frame.columns if not frame[c].isin(list(empty)).all()]
    return frame[keep], "\n".join(lines[stop:]).strip()


# --------------------------------------------------------------------------------------------- source code
def code_html(obj: Any = None, *, source: str | None = None, start: str | None = None, end: str | None = None,
              title: str | None = None) -> str:
    """Library source as syntax-highlighted HTML (chapters 06, 07 and 08 show the code they teach).

    Args:
        obj: a function, class or method; its source is read with ``inspect.getsource``.
        source: the text instead of ``obj``.
        start / end: show only the lines from the first one containing ``start`` up to, not including, the
            first later one containing ``end`` (the common indentation is removed).
        title: a caption such as ``codegen_lib/layers.py: EncoderLayer``; by default the object's module and
            name, with its first line number.
    """
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    if source is None:
        if obj is None:
            raise ValueError("give obj or source")
        source = inspect.getsource(obj)
        if title is None:
            line = inspect.getsourcelines(obj)[1]
            title = f"{obj.__module__}.{obj.__qualname__} (line {line} of {inspect.getsourcefile(obj).split('/')[-1]})"
    lines = source.splitlines()
    if start is not None:
        i0 = next((i for i, s in enumerate(lines) if start in s), None)
        if i0 is None:
            raise ValueError(f"{start!r} not found in the source")
        i1 = len(lines)
        if end is not None:
            i1 = next((i for i in range(i0 + 1, len(lines)) if end in lines[i]), None)
            if i1 is None:
                raise ValueError(f"{end!r} not found after {start!r} in the source")
        lines = lines[i0:i1]
    indent = min((len(s) - len(s.lstrip()) for s in lines if s.strip()), default=0)
    text = "\n".join(s[indent:] for s in lines).rstrip() + "\n"
    body = highlight(text, PythonLexer(), HtmlFormatter(noclasses=True, style="friendly", nowrap=False))
    cap = f"<div style='font:12px monospace;color:#555;margin:2px 0'>{html.escape(title)}</div>" if title else ""
    return f"<div class='cg-source'>{cap}<div style='overflow-x:auto;font-size:13px'>{body}</div></div>"


class _HTML:
    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:  # plain-text fallback (the page uses the HTML)
        return self.text


def show_source(obj: Any = None, **kw) -> _HTML:
    """:func:`code_html` as a displayable object: the last line of a cell, ``show_source(EncoderLayer)``."""
    return _HTML(code_html(obj, **kw))


_CSS = """<style>
.cg-attn{font:13px/1.3 system-ui,sans-serif;margin:8px 0;max-width:100%}
.cg-attn .cg-controls label{margin-right:10px}
.cg-attn select{margin-left:3px}
.cg-attn .cg-title{font-weight:600;margin-bottom:4px}
.cg-attn .cg-caption{margin:6px 0;color:#333}
.cg-attn .cg-code{background:#f6f8fa;padding:4px 6px;margin:4px 0;font-size:12px;white-space:pre-wrap}
.cg-attn .cg-body{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.cg-attn .cg-heat{overflow-x:auto;max-width:100%}
.cg-attn .cg-grid{display:grid;gap:1px;font:10px monospace}
.cg-attn .cg-grid .cg-cell{width:13px;height:13px}
.cg-attn .cg-grid .cg-rl{text-align:right;padding-right:3px;white-space:pre;line-height:13px}
.cg-attn .cg-grid .cg-cl{writing-mode:vertical-rl;transform:rotate(180deg);white-space:pre;height:60px}
.cg-attn .cg-links{position:relative;font:11px monospace}
.cg-attn .cg-tok{white-space:pre;height:15px;line-height:15px;padding:0 3px;cursor:default}
.cg-attn .cg-tok.cg-on{background:#ffe08a}
</style>"""

_JS = r"""
function cgAttentionView(root){
  if(!root||root.dataset.ready)return; root.dataset.ready='1';
  var D=JSON.parse(root.querySelector('.cg-data').textContent);
  var st={example:0,kind:D.kind,layer:0,head:0,focus:-1};
  var VIR=[[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];
  function col(v){v=Math.max(0,Math.min(1,v));var x=v*4,i=Math.min(3,Math.floor(x)),f=x-i,a=VIR[i],b=VIR[i+1];
    return 'rgb('+[0,1,2].map(function(c){return Math.round(a[c]+(b[c]-a[c])*f);}).join(',')+')';}
  var cache={};
  function bytes(ex,kind){var key=ex+'/'+kind;if(!cache[key]){var s=atob(D.examples[ex].kinds[kind].data),
    u=new Uint8Array(s.length);for(var i=0;i<s.length;i++)u[i]=s.charCodeAt(i);cache[key]=u;}return cache[key];}
  function matrix(){var ex=D.examples[st.example],r=ex.kinds[st.kind],u=bytes(st.example,st.kind),
    m=[],hs=st.head<0?[...Array(r.heads).keys()]:[st.head];
    for(var i=0;i<r.q;i++){var row=[];for(var j=0;j<r.k;j++){var s=0;hs.forEach(function(h){
      s+=u[((st.layer*r.heads+h)*r.q+i)*r.k+j];});row.push(s/hs.length/255);}m.push(row);}return m;}
  function toks(){var ex=D.examples[st.example];return st.kind==='encoder'?[ex.src,ex.src]:
    st.kind==='decoder'?[ex.tgt,ex.tgt]:[ex.tgt,ex.src];}
  function esc(t){var d=document.createElement('span');d.textContent=t;return d.innerHTML;}
  function sel(role,opts,val){var s=document.createElement('select');s.dataset.role=role;
    opts.forEach(function(o){var e=document.createElement('option');e.value=o[0];e.textContent=o[1];s.appendChild(e);});
    s.value=String(val);s.addEventListener('change',function(){st[role]=role==='kind'?s.value:+s.value;
      if(role==='kind'||role==='example'){fix();controls();}draw();});return s;}
  function fix(){var r=D.examples[st.example].kinds[st.kind];if(!r){st.kind=Object.keys(D.examples[st.example].kinds)[0];
    r=D.examples[st.example].kinds[st.kind];}if(st.layer>=r.layers)st.layer=0;if(st.head>=r.heads)st.head=0;st.focus=-1;}
  function controls(){var c=root.querySelector('.cg-controls');c.innerHTML='';var r=D.examples[st.example].kinds[st.kind];
    function lab(t,s){var l=document.createElement('label');l.textContent=t;l.appendChild(s);c.appendChild(l);}
    if(D.examples.length>1)lab('example',sel('example',D.examples.map(function(e,i){return [i,e.label];}),st.example));
    lab('direction',sel('kind',Object.keys(D.examples[st.example].kinds).map(function(k){return [k,k];}),st.kind));
    lab('layer',sel('layer',[...Array(r.layers).keys()].map(function(i){return [i,i];}),st.layer));
    lab('head',sel('head',[...Array(r.heads).keys()].map(function(i){return [i,i];}).concat([[-1,'mean']]),st.head));}
  function draw(){var m=matrix(),t=toks(),q=t[0],k=t[1],mx=0;m.forEach(function(r){r.forEach(function(v){mx=Math.max(mx,v);});});
    mx=mx||1;root.querySelector('.cg-header').innerHTML=D.examples[st.example].header;
    root.querySelector('.cg-caption').textContent=D.labels[st.kind]+', layer '+st.layer+', '+
      (st.head<0?'mean of heads':'head '+st.head)+' (colour: weight / '+mx.toFixed(2)+')';
    var g='<div class="cg-grid" style="grid-template-columns:auto repeat('+k.length+',13px)"><div></div>';
    k.forEach(function(x){g+='<div class="cg-cl">'+esc(x)+'</div>';});
    m.forEach(function(row,i){g+='<div class="cg-rl">'+esc(q[i])+'</div>';row.forEach(function(v,j){
      g+='<div class="cg-cell" data-i="'+i+'" data-j="'+j+'" data-w="'+v.toFixed(3)+'" style="background:'+col(v/mx)+
      '" title="'+esc(q[i])+' → '+esc(k[j])+': '+v.toFixed(3)+'"></div>';});});
    root.querySelector('.cg-heat').innerHTML=g+'</div>';links(m,q,k,mx);}
  function links(m,q,k,mx){var L=root.querySelector('.cg-links'),H=15,n=Math.max(q.length,k.length),W=110;
    var s='<div style="display:flex"><div>';q.forEach(function(x,i){s+='<div class="cg-tok'+(i===st.focus?' cg-on':'')+
      '" data-q="'+i+'" style="text-align:right">'+esc(x)+'</div>';});
    s+='</div><svg width="'+W+'" height="'+(n*H)+'" style="flex:none">';
    m.forEach(function(row,i){if(st.focus>=0&&i!==st.focus)return;row.forEach(function(v,j){var o=v/mx;if(o<0.04)return;
      s+='<line x1="2" y1="'+(i*H+H/2)+'" x2="'+(W-2)+'" y2="'+(j*H+H/2)+'" stroke="#1f77b4" stroke-width="2" stroke-opacity="'+
      o.toFixed(2)+'"/>';});});
    s+='</svg><div>';k.forEach(function(x){s+='<div class="cg-tok">'+esc(x)+'</div>';});L.innerHTML=s+'</div></div>';
    L.querySelectorAll('[data-q]').forEach(function(e){e.addEventListener('click',function(){var i=+e.dataset.q;
      st.focus=st.focus===i?-1:i;links(m,q,k,mx);});});}
  controls();draw();
}
"""
