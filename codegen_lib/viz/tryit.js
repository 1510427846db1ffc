// The "Try it" view and the tokenizer box (codegen_lib/viz/tryit.py): the shipped model in the page.
// onnxruntime-web runs encoder.onnx and decoder_step.onnx; @huggingface/tokenizers runs tokenizer.json.
// The decoding loop mirrors codegen_lib.decode.generate (its defaults); tests/test_book.py checks, in
// headless Chromium, that chapter 08's page writes PyTorch's greedy tokens.
var cgTryItShared = (typeof window !== 'undefined' && window.cgTryItShared) || {};
if (typeof window !== 'undefined') window.cgTryItShared = cgTryItShared;

// cgSlots (slot canonicalization and restore) comes from slots.js, which the page carries before this.

// ------------------------------------------------------------------ decoding (decode.py's rules)
function cgBannedNgram(seq, n) {  // decode.banned_ngram_tokens
  if (n <= 0 || seq.length < n - 1) return [];
  var prefix = seq.slice(seq.length - (n - 1)), out = [];
  for (var i = 0; i + n - 1 < seq.length; i++) {
    var same = true;
    for (var j = 0; j < n - 1; j++) if (seq[i + j] !== prefix[j]) { same = false; break; }
    if (same) out.push(seq[i + n - 1]);
  }
  return out;
}

function cgProcessScores(row, seq, step, M, banned) {  // decode._process_logits on one row (a copy)
  var s = Float32Array.from(row), eos = M.eos_id, D = M.decoding;
  [M.pad_id, M.bos_id].forEach(function (i) { if (i !== eos) s[i] = -Infinity; });
  (banned || []).forEach(function (i) { s[i] = -Infinity; });
  if (step < D.min_new_tokens) s[eos] = -Infinity;
  if (D.no_repeat_ngram_size > 0) cgBannedNgram(seq, D.no_repeat_ngram_size).forEach(function (i) {
    s[i] = -Infinity; });
  var dead = true;
  for (var i = 0; i < s.length; i++) if (s[i] !== -Infinity) { dead = false; break; }
  if (dead) s[eos] = 0;
  return s;
}

function cgArgmax(s) {  // the first maximum, as torch.argmax
  var best = 0;
  for (var i = 1; i < s.length; i++) if (s[i] > s[best]) best = i;
  return best;
}

function cgLogSoftmax(s) {
  var m = -Infinity, i;
  for (i = 0; i < s.length; i++) if (s[i] > m) m = s[i];
  if (!isFinite(m)) m = 0;
  var z = 0;
  for (i = 0; i < s.length; i++) z += Math.exp(s[i] - m);
  var lz = Math.log(z), out = new Float64Array(s.length);
  for (i = 0; i < s.length; i++) out[i] = s[i] - m - lz;
  return out;
}

// ------------------------------------------------------------------ loading (shared by every view of a page)
function cgStaticBase() {  // <book>/_static/tryit/ from a script the page loads from _static
  var scripts = document.querySelectorAll('script[src]');
  for (var i = 0; i < scripts.length; i++) {
    var k = scripts[i].src.indexOf('/_static/');
    if (k >= 0) return scripts[i].src.slice(0, k + 9) + 'tryit/';
  }
  return null;
}

async function cgFindBase(cfg) {
  var bases = [], sb = cgStaticBase();
  if (sb) bases.push(sb);
  if (cfg.port) {
    var colab = typeof google !== 'undefined' && google.colab && google.colab.kernel;
    if (colab) {
      try { bases.push((await google.colab.kernel.proxyPort(cfg.port)).replace(/\/?$/, '/')); }
      catch (e) { /* not in Colab after all */ }
    }
    bases.push('http://127.0.0.1:' + cfg.port + '/');
  }
  for (var i = 0; i < bases.length; i++) {
    try {
      var r = await fetch(bases[i] + 'model/manifest.json', {cache: 'no-store'});
      if (r.ok) return {base: bases[i], manifest: await r.json()};
    } catch (e) { /* next candidate */ }
  }
  throw new Error('the model files were not found (static book: _static/tryit/; Jupyter: run the cell ' +
                  'that builds this view)');
}

function cgLoad(cfg, withModel) {
  var key = JSON.stringify([cfg.port, withModel]);
  if (!cgTryItShared[key]) cgTryItShared[key] = (async function () {
    var t0 = performance.now(), found = await cgFindBase(cfg), base = found.base, M = found.manifest;
    var tokMod = await import(base + 'tokenizers/tokenizers.min.mjs');
    var tj = await (await fetch(base + 'model/' + M.tokenizer)).json();
    var tok = cgMakeTokenizer(tokMod.Tokenizer, tj);
    var out = {base: base, M: M, tok: tok};
    if (withModel) {
      var ort = await import(base + 'ort/ort.wasm.min.mjs');
      ort.env.wasm.wasmPaths = base + 'ort/';
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      var weights = new Uint8Array(await (await fetch(base + 'model/' + M.weights)).arrayBuffer());
      var opts = {executionProviders: ['wasm'], externalData: [{path: M.weights, data: weights}],
                  graphOptimizationLevel: 'all'};
      out.ort = ort;
      out.enc = await ort.InferenceSession.create(base + 'model/' + M.encoder, opts);
      out.dec = await ort.InferenceSession.create(base + 'model/' + M.decoder_step, opts);
      var saved = M.decoding.max_new_tokens;  // one short warm-up run, so the first tokens/s is fair
      M.decoding.max_new_tokens = 4;
      try { await cgGenerate(out, 'x', 'greedy'); } finally { M.decoding.max_new_tokens = saved; }
    }
    out.loadSeconds = (performance.now() - t0) / 1000;
    return out;
  })();
  return cgTryItShared[key];
}

// codegen_lib's tokenizer in the page. Python encodes with encode_special_tokens=True: "<pad>" in a
// prompt is plain text, never the special token; so the page's tokenizer gets no special added tokens.
// Slot names (var_0 ...) are added tokens with single_word=True, which tokenizers.js does not honour
// (it would find var_0 inside myvar_0): the page splits them out itself, with the Rust library's rule
// (no word character, regex \w, on either side), and encodes the text between them on its own.
function cgMakeTokenizer(Tokenizer, tj) {
  var specials = {}, words = [];
  tj.added_tokens.forEach(function (t) { if (t.special) specials[t.id] = true; else if (t.single_word) words.push(t); });
  var dec = JSON.parse(JSON.stringify(tj)), enc = JSON.parse(JSON.stringify(tj));
  dec.added_tokens = tj.added_tokens.filter(function (t) { return !t.special; });
  enc.added_tokens = tj.added_tokens.filter(function (t) { return !t.special && !t.single_word; });
  var decoder = new Tokenizer(dec, {}), encoder = new Tokenizer(enc, {});
  var byContent = {};
  words.forEach(function (t) { byContent[t.content] = t.id; });
  var W = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
  var find = words.length ? new RegExp(words.map(function (t) { return t.content; })
    .sort(function (a, b) { return b.length - a.length; })
    .map(function (c) { return c.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&'); }).join('|'), 'gu') : null;
  function lastChar(s) { var a = Array.from(s); return a.length ? a[a.length - 1] : ''; }
  function encode(text) {
    var ids = [], last = 0;
    function plain(t) { if (t) ids.push.apply(ids, encoder.encode(t, {add_special_tokens: false}).ids); }
    if (find) {
      find.lastIndex = 0;
      var m;
      while ((m = find.exec(text)) !== null) {
        var before = lastChar(text.slice(0, m.index)), after = Array.from(text.slice(m.index + m[0].length))[0] || '';
        if ((before && W.test(before)) || (after && W.test(after))) continue;  // not a whole word
        plain(text.slice(last, m.index));
        ids.push(byContent[m[0]]);
        last = m.index + m[0].length;
      }
    }
    plain(text.slice(last));
    return {ids: ids};
  }
  return {
    encode: function (text) { return encode(text); },
    decode: function (ids) { return decoder.decode(ids, {skip_special_tokens: false, clean_up_tokenization_spaces: false}); },
    specials: specials
  };
}

function cgTokenText(tok, special, id) {  // what one id stands for (byte pieces may be partial characters)
  if (special.indexOf(id) >= 0) return ['<pad>', '<bos>', '<eos>', '<unk>'][id] || '<' + id + '>';
  return tok.decode([id]);
}

function cgDecodeIds(tok, M, ids) {  // generate(): cut at <eos>, drop pads and special tokens, decode
  var k = ids.indexOf(M.eos_id);
  if (k >= 0) ids = ids.slice(0, k);
  ids = ids.filter(function (t) { return t !== M.pad_id && M.special_ids.indexOf(t) < 0; });
  return tok.decode(ids);
}

function cgSourceIds(L, prompt) {  // decode._encode_prompts: truncate to max_src_len - 1, then <eos>
  var M = L.M, text = prompt, slots = [];
  if (M.slots) { var c = cgSlots.canonicalize(prompt); text = c.text; slots = c.slots; }
  var all = L.tok.encode(text).ids, ids = all.slice(0, M.max_src_len - 1);
  ids.push(M.eos_id);
  return {ids: ids, slots: slots, banned: M.slots ? cgSlotBans(L, ids) : [],
          truncated: all.length - (ids.length - 1)};
}

function cgSlotBans(L, srcIds) {  // slot tokens that do not occur in the source are never produced
  var ban = [], have = {};
  srcIds.forEach(function (i) { have[i] = true; });
  (L.M.slot_ids || []).forEach(function (i) { if (!have[i]) ban.push(i); });
  return ban;
}

// ------------------------------------------------------------------ one generation through onnxruntime
async function cgGenerate(L, prompt, strategy, onStep) {
  var M = L.M, ort = L.ort, n = M.num_layers, H = M.num_heads, dk = M.d_k, V = M.vocab_size;
  var src = cgSourceIds(L, prompt), S = src.ids.length, K = strategy === 'beam' ? M.decoding.beam_size : 1;
  var limit = Math.min(M.decoding.max_new_tokens, M.max_tgt_len), lp = M.decoding.length_penalty;
  var t0 = performance.now();
  var big = function (a) { return BigInt64Array.from(a.map(function (x) { return BigInt(x); })); };
  var enc = await L.enc.run({src: new ort.Tensor('int64', big(src.ids), [1, S])});
  var srcRows = [];
  for (var r = 0; r < K; r++) srcRows = srcRows.concat(src.ids);
  var feeds = {src: new ort.Tensor('int64', big(srcRows), [K, S])};
  for (var i = 0; i < n; i++) ['k', 'v'].forEach(function (kv) {
    var one = enc['cross_' + kv + '_' + i].data, all = new Float32Array(one.length * K);
    for (var r = 0; r < K; r++) all.set(one, r * one.length);
    feeds['cross_' + kv + '_' + i] = new ort.Tensor('float32', all, [K, H, S, dk]);
  });
  var past = {}, pastLen = 0;
  for (var i = 0; i < n; i++) ['k', 'v'].forEach(function (kv) {
    past['past_' + kv + '_' + i] = new Float32Array(0); });
  var seqs = [], hist = [], scores = [], lengths = [], finished = [], last = [];
  for (var r = 0; r < K; r++) {
    seqs.push([]); hist.push([]); scores.push(r === 0 ? 0 : -Infinity); lengths.push(0);
    finished.push(false); last.push(M.bos_id);
  }
  var produced = 0;
  for (var step = 0; step < limit; step++) {
    var f = Object.assign({}, feeds, {tokens: new ort.Tensor('int64', big(last), [K, 1])});
    for (var name in past) f[name] = new ort.Tensor('float32', past[name], [K, H, pastLen, dk]);
    var out = await L.dec.run(f);
    var sc = out.scores.data, cw = out.cross_attention.data, per = n * H * S;
    pastLen += 1;
    for (var i = 0; i < n; i++) ['k', 'v'].forEach(function (kv) {
      past['past_' + kv + '_' + i] = out['present_' + kv + '_' + i].data; });
    var rows, next;
    if (K === 1) {
      var s = cgProcessScores(sc.subarray(0, V), seqs[0], step, M, src.banned);
      rows = [0]; next = [cgArgmax(s)];
    } else {  // decode.beam_search
      var cand = [], candLen = [];
      for (var r = 0; r < K; r++) {
        var lps = cgLogSoftmax(cgProcessScores(sc.subarray(r * V, (r + 1) * V), seqs[r], step, M,
                                               src.banned));
        if (finished[r]) { lps.fill(-Infinity); lps[M.pad_id] = 0; }
        candLen.push(finished[r] ? lengths[r] : step + 1);
        cand.push(lps.map(function (x) { return scores[r] + x; }));
      }
      var best = [];  // the K best (row, token) by cand / len ** lp; ties to the lower index
      for (var r = 0; r < K; r++) {
        var div = Math.pow(candLen[r], lp), c = cand[r];
        for (var t = 0; t < V; t++) {
          var v = c[t] / div;
          if (v === -Infinity || (best.length === K && v <= best[K - 1][0])) continue;
          var j = best.length;
          while (j > 0 && best[j - 1][0] < v) j--;
          best.splice(j, 0, [v, r, t]);
          if (best.length > K) best.pop();
        }
      }
      rows = best.map(function (b) { return b[1]; });
      next = best.map(function (b) { return b[2]; });
      scores = best.map(function (b) { return cand[b[1]][b[2]]; });
      lengths = rows.map(function (r) { return candLen[r]; });
      finished = rows.map(function (r, i) { return finished[r] || next[i] === M.eos_id; });
    }
    hist = rows.map(function (r, i) {
      return hist[r].concat([{token: next[i], w: cw.slice(r * per, (r + 1) * per)}]); });
    seqs = rows.map(function (r, i) { return seqs[r].concat([next[i]]); });
    if (K > 1) {  // follow the beams: reorder the cache rows
      var size = H * pastLen * dk;
      for (var name in past) {
        var old = past[name], neu = new Float32Array(old.length);
        rows.forEach(function (r, i) { neu.set(old.subarray(r * size, (r + 1) * size), i * size); });
        past[name] = neu;
      }
    }
    last = next;
    produced = step + 1;
    if (onStep) onStep(step);
    if (K === 1 ? next[0] === M.eos_id : finished.every(function (x) { return x; })) break;
  }
  var win = 0;
  if (K > 1) {
    var fin = scores.map(function (s, r) { return s / Math.pow(Math.max(lengths[r], 1), lp); });
    win = cgArgmax(fin);
  }
  var ids = seqs[win], k = ids.indexOf(M.eos_id);
  var kept = (k >= 0 ? ids.slice(0, k) : ids).filter(function (t) { return t !== M.pad_id; });
  var code = cgDecodeIds(L.tok, M, kept);
  if (M.slots) code = cgSlots.restore(code, src.slots);
  var secs = (performance.now() - t0) / 1000;
  var steps = hist[win].filter(function (h) { return h.token !== M.pad_id; });
  return {ids: kept, code: code, seconds: secs, tokens: produced, src: src.ids, steps: steps,
          truncated: src.truncated};
}

// ------------------------------------------------------------------ the views
function cgTryIt(root) {
  if (!root || root.dataset.ready) return;
  root.dataset.ready = '1';
  var cfg = JSON.parse(root.querySelector('.cg-tryit-cfg').textContent);
  var $ = function (role) { return root.querySelector('[data-role="' + role + '"]'); };
  if (cfg.mode === 'tokenize') return cgTokenBox(root, cfg, $);
  var status = $('status'), msg = $('msg'), run = $('run'), box = $('prompt'), L = null, last = null;
  var VIR = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function col(v) {
    v = Math.max(0, Math.min(1, v));
    var x = v * 4, i = Math.min(3, Math.floor(x)), f = x - i, a = VIR[i], b = VIR[i + 1];
    return 'rgb(' + [0, 1, 2].map(function (c) { return Math.round(a[c] + (b[c] - a[c]) * f); }).join(',') + ')';
  }
  function esc(t) { var d = document.createElement('span'); d.textContent = t; return d.innerHTML; }
  function show(t) { return t.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→'); }
  function setStatus(s, text) { status.textContent = s; msg.textContent = text || ''; }
  var st = {layer: 0, head: -1};
  function controls() {
    var c = $('attn-controls'); c.innerHTML = '';
    if (!last) return;
    function sel(name, opts) {
      var l = document.createElement('label'), s = document.createElement('select');
      l.textContent = name + ' '; s.dataset.role = 'attn-' + name;
      opts.forEach(function (o) {
        var e = document.createElement('option'); e.value = o[0]; e.textContent = o[1]; s.appendChild(e); });
      s.value = String(st[name]);
      s.addEventListener('change', function () { st[name] = +s.value; draw(); });
      l.appendChild(s); c.appendChild(l);
    }
    var M = L.M;
    sel('layer', Array.from({length: M.num_layers}, function (_, i) { return [i, i]; }));
    sel('head', Array.from({length: M.num_heads}, function (_, i) { return [i, i]; }).concat([[-1, 'mean']]));
  }
  function draw() {
    var heat = $('heatmap');
    if (!last) { heat.innerHTML = ''; return; }
    var M = L.M, H = M.num_heads, S = last.src.length, rows = last.steps, mx = 0, m = [];
    rows.forEach(function (h) {
      var row = [];
      for (var j = 0; j < S; j++) {
        var s = 0, hs = st.head < 0 ? H : 1;
        for (var q = 0; q < hs; q++) {
          var head = st.head < 0 ? q : st.head;
          s += h.w[(st.layer * H + head) * S + j];
        }
        row.push(s / hs); mx = Math.max(mx, s / hs);
      }
      m.push(row);
    });
    mx = mx || 1;
    var special = M.special_ids, src = last.src.map(function (i) { return cgTokenText(L.tok, special, i); });
    var tgt = rows.map(function (h) { return cgTokenText(L.tok, special, h.token); });
    $('attn-caption').textContent = 'Cross-attention of this generation (rows: each token written; columns: ' +
      'the prompt\'s tokens' + (M.slots ? ' as the model reads them, named values replaced by slots ' +
      '(var_0, str_0, num_0...) that the code gets back afterwards' : '') + '), layer ' + st.layer + ', ' + (st.head < 0 ? 'mean of heads' : 'head ' + st.head) +
      ' (colour: weight / ' + mx.toFixed(2) + ')';
    var g = '<div class="cg-grid" style="grid-template-columns:auto repeat(' + S + ',13px)"><div></div>';
    src.forEach(function (x) { g += '<div class="cg-cl">' + esc(show(x)) + '</div>'; });
    m.forEach(function (row, i) {
      g += '<div class="cg-rl">' + esc(show(tgt[i])) + '</div>';
      row.forEach(function (v, j) {
        g += '<div class="cg-cell" style="background:' + col(v / mx) + '" title="' + esc(show(tgt[i])) +
          ' → ' + esc(show(src[j])) + ': ' + v.toFixed(3) + '"></div>';
      });
    });
    heat.innerHTML = g + '</div>';
  }
  async function load() {  // the model is fetched on first use: about 31 MB, then cached by the browser
    if (L) return L;
    setStatus('loading', 'loading the model (once: about 15 MB of weights and 15 MB of ONNX Runtime)…');
    L = await cgLoad(cfg, true);
    return L;
  }
  async function go() {
    var prompt = box.value;
    if (!prompt.trim()) { setStatus('error', 'The prompt is empty: describe the code you want.'); return; }
    run.disabled = true;
    setStatus('running', '');  // at once, so that no one reads the previous run's 'done'
    try {
      await load();
      setStatus('running', '');
      var strategy = $('strategy').value;
      var res = await cgGenerate(L, prompt, strategy, function (step) {
        if (step % 16 === 0) msg.textContent = (step + 1) + ' tokens…'; });
      $('code').textContent = res.code;
      $('speed').textContent = res.tokens + ' tokens in ' + res.seconds.toFixed(2) + ' s' +
        (res.seconds > 0 ? ' = ' + (res.tokens / res.seconds).toFixed(1) + ' tokens/s' : '') +
        ' (' + strategy + ', onnxruntime-web, WASM, 1 thread)' + (res.truncated > 0 ? '; the prompt was cut by ' +
        res.truncated + ' tokens to the model\'s ' + L.M.max_src_len + '-token limit (<eos> included)' : '');
      $('speed').dataset.tokens = res.tokens;
      $('speed').dataset.seconds = res.seconds;
      root.dataset.ids = JSON.stringify(res.ids);
      last = res; controls(); draw();
      setStatus('done', 'model loaded in ' + L.loadSeconds.toFixed(1) + ' s');
    } catch (e) {
      setStatus('error', String(e && e.message || e));
    }
    run.disabled = false;
  }
  run.addEventListener('click', go);
  run.disabled = false;
  setStatus('ready', 'the model loads when you press Generate (once: about 30 MB)');
  var q = new URLSearchParams(location.search);
  if (q.get('strategy') === 'beam') $('strategy').value = 'beam';
  if (q.get('prompt') !== null) { box.value = q.get('prompt'); go(); }
}

function cgTokenBox(root, cfg, $) {
  var box = $('prompt'), msg = $('msg');
  var COL = ['#fde2e4', '#e2ece9', '#dfe7fd', '#fff1c1', '#e8dff5', '#d8f3dc'];
  msg.textContent = 'loading the tokenizer…';
  cgLoad(cfg, false).then(function (L) {
    function esc(t) { var d = document.createElement('span'); d.textContent = t; return d.innerHTML; }
    function update() {
      var ids = L.tok.encode(box.value).ids;
      $('tokens').innerHTML = ids.map(function (id, i) {
        var t = cgTokenText(L.tok, L.M.special_ids, id).replace(/ /g, '·').replace(/\n/g, '↵\n')
          .replace(/\t/g, '→');
        return '<span title="id ' + id + '" style="background:' + COL[i % COL.length] + '">' + esc(t) + '</span>';
      }).join('');
      $('ids').textContent = '[' + ids.join(', ') + ']';
      msg.textContent = ids.length + ' tokens (the shipped tokenizer, running in this page)';
    }
    box.addEventListener('input', update);
    update();
  }, function (e) { msg.textContent = 'error: ' + String(e && e.message || e); });
}

if (typeof module !== 'undefined') {
  module.exports = {cgBannedNgram: cgBannedNgram, cgProcessScores: cgProcessScores, cgMakeTokenizer: cgMakeTokenizer};
}
