// Chapter 03's positional-encoding sliders without a kernel (codegen_lib/viz/tryit.py: positional_view).
// cgSinusoidalTable is codegen_lib.positional.sinusoidal_table in float32 arithmetic.
function cgSinusoidalTable(length, d) {  // (length, d) row-major Float32Array
  var f = Math.fround, out = new Float32Array(length * d), half = Math.ceil(d / 2);
  var div = new Float32Array(half), scale = f(-(Math.log(10000.0) / d));
  for (var k = 0; k < half; k++) div[k] = f(Math.exp(f(f(2 * k) * scale)));
  for (var p = 0; p < length; p++) {
    for (var k2 = 0; k2 < half; k2++) {
      var angle = f(p * div[k2]);
      out[p * d + 2 * k2] = Math.sin(angle);
      if (2 * k2 + 1 < d) out[p * d + 2 * k2 + 1] = Math.cos(angle);
    }
  }
  return out;
}

function cgPositional(root) {
  if (!root || root.dataset.ready) return;
  root.dataset.ready = '1';
  var $ = function (r) { return root.querySelector('[data-role="' + r + '"]'); };
  var canvas = $('canvas'), ctx = canvas.getContext('2d');
  function colour(v) {  // RdBu_r: -1 blue, 0 white, +1 red
    var t = (v + 1) / 2, lo = [33, 102, 172], mid = [247, 247, 247], hi = [178, 24, 43];
    var a = t < 0.5 ? lo : mid, b = t < 0.5 ? mid : hi, u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    return [0, 1, 2].map(function (c) { return Math.round(a[c] + (b[c] - a[c]) * u); });
  }
  function draw() {
    var d = +$('d').value, lo = +$('lo').value, hi = +$('hi').value;
    if (hi <= lo) { hi = lo + 1; $('hi').value = hi; }
    $('dv').textContent = ' ' + d;
    $('pv').textContent = lo + ' .. ' + (hi - 1);
    var pe = cgSinusoidalTable(hi, d), rows = hi - lo, W = canvas.width, H = canvas.height;
    var img = ctx.createImageData(W, H);
    for (var y = 0; y < H; y++) {
      var p = lo + Math.min(rows - 1, Math.floor(y * rows / H));
      for (var x = 0; x < W; x++) {
        var i = Math.min(d - 1, Math.floor(x * d / W)), c = colour(pe[p * d + i]), o = (y * W + x) * 4;
        img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    $('caption').textContent = 'Sinusoidal positional encoding, d_model=' + d + ': positions ' + lo + '..' +
      (hi - 1) + ' (rows, top to bottom) x dimensions 0..' + (d - 1) + ' (columns; even: sin, odd: cos); ' +
      'blue -1, white 0, red +1. Computed in this page.';
  }
  ['d', 'lo', 'hi'].forEach(function (r) { $(r).addEventListener('input', draw); });
  draw();
}

if (typeof module !== 'undefined') module.exports = {cgSinusoidalTable: cgSinusoidalTable};
