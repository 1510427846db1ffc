// codegen_lib/slots.py in JavaScript, for the in-page model: the request side of the canonicalization
// (canonicalizeRequest) and restore, with the pure-Python tokenizer of Python 3.11 (tokenize.py) that
// restore edits through. tests/test_viz_tryit.py runs both against the Python module on many inputs (node).
// Python indexes strings by code point and JavaScript by UTF-16 unit; every offset here is in one unit
// (UTF-16) end to end, so the slices agree. Regexes use the u flag, \p{L}\p{N}_ for Python's \w and
// \p{Nd} for its \d.
var cgSlots = (function () {
  var KINDS = ['var', 'str', 'num'], MAX_SLOTS = 8;
  var W = '\\p{L}\\p{N}_';
  var SPAN = new RegExp('`([^`\\n]+)`|(?<![' + W + "])'([^'\\n]+)'(?![" + W + '])|(?<![' + W +
                        '])"([^"\\n]+)"(?![' + W + '])', 'gu');
  var NUMBER = new RegExp('(?<![' + W + '.])\\p{Nd}+(?:\\.\\p{Nd}+)?(?![' + W + ']|\\.\\p{Nd})', 'gu');
  var NUMBER_FULL = /^\p{Nd}+(?:\.\p{Nd}+)?$/u;
  var DOTTED = /^[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*$/;
  var SLOT_NAME = new RegExp('(?<![' + W + '])(var|str|num)_(\\p{Nd}+)(?![' + W + '])', 'gu');
  var KEYWORDS = ['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class',
    'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import',
    'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield'];
  var PYSPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
  var STRIP = new RegExp('^[' + PYSPACE + ']+|[' + PYSPACE + ']+$', 'g');
  function pyStrip(s) { return s.replace(STRIP, ''); }

  function kindOf(value) {  // slots._kind
    if (NUMBER_FULL.test(value)) return 'num';
    if (DOTTED.test(value) && !value.split('.').some(function (p) { return KEYWORDS.indexOf(p) >= 0; }))
      return 'var';
    return 'str';
  }

  function canonicalizeRequest(prompt) {  // slots.canonicalize_request -> {text, slots}
    var slots = [], byKey = {}, counts = {var: 0, str: 0, num: 0};
    function slotFor(value, kind) {
      var key = kind + '\u0000' + value;
      if (!(key in byKey)) {
        if (counts[kind] >= MAX_SLOTS) return null;
        byKey[key] = {name: kind + '_' + counts[kind], value: value, kind: kind};
        slots.push(byKey[key]);
        counts[kind] += 1;
      }
      return byKey[key].name;
    }
    function span(m) {
      var backticked = m[1] !== undefined;
      var value = backticked ? m[1] : (m[2] !== undefined ? m[2] : m[3]);
      if (!pyStrip(value) || (value !== pyStrip(value) && backticked)) return m[0];
      if (backticked && /[()[\]=,]/.test(value)) return value;  // code to write: the backticks go
      var name = slotFor(value, kindOf(value));
      return name === null ? m[0] : name;
    }
    var pieces = [], last = 0;
    for (var m of prompt.matchAll(SPAN)) {
      pieces.push(['text', prompt.slice(last, m.index)]);
      pieces.push(['slot', span(m)]);
      last = m.index + m[0].length;
    }
    pieces.push(['text', prompt.slice(last)]);
    var out = pieces.map(function (p) {
      if (p[0] !== 'text') return p[1];
      return p[1].replace(NUMBER, function (x) { var n = slotFor(x, 'num'); return n === null ? x : n; });
    });
    return {text: out.join(''), slots: slots};
  }

  // ---------------------------------------------------------------- Python 3.11's tokenize, ported
  function group() { return '(' + Array.prototype.join.call(arguments, '|') + ')'; }
  var prefixes = (function () {  // tokenize._all_string_prefixes
    var out = {'': true};
    ['b', 'r', 'u', 'f', 'br', 'fr'].forEach(function (p) {
      var perms = p.length === 1 ? [p] : [p, p[1] + p[0]];
      perms.forEach(function (t) {
        var cases = [''];
        for (var i = 0; i < t.length; i++) {
          var next = [];
          cases.forEach(function (c) { next.push(c + t[i]); next.push(c + t[i].toUpperCase()); });
          cases = next;
        }
        cases.forEach(function (c) { out[c] = true; });
      });
    });
    return Object.keys(out);
  })();
  function reEscape(s) { return s.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&'); }
  var Whitespace = '[ \\f\\t]*', Comment = '#[^\\r\\n]*', Name = '[' + W + ']+';
  var Hexnumber = '0[xX](?:_?[0-9a-fA-F])+', Binnumber = '0[bB](?:_?[01])+', Octnumber = '0[oO](?:_?[0-7])+';
  var Decnumber = '(?:0(?:_?0)*|[1-9](?:_?[0-9])*)';
  var Intnumber = group(Hexnumber, Binnumber, Octnumber, Decnumber);
  var Exponent = '[eE][-+]?[0-9](?:_?[0-9])*';
  var Pointfloat = group('[0-9](?:_?[0-9])*\\.(?:[0-9](?:_?[0-9])*)?', '\\.[0-9](?:_?[0-9])*') +
                   '(' + Exponent + ')?';
  var Expfloat = '[0-9](?:_?[0-9])*' + Exponent;
  var Floatnumber = group(Pointfloat, Expfloat);
  var Imagnumber = group('[0-9](?:_?[0-9])*[jJ]', Floatnumber + '[jJ]');
  var NumberRe = group(Imagnumber, Floatnumber, Intnumber);
  var StringPrefix = group.apply(null, prefixes.map(reEscape));
  // Python's "." (no DOTALL) is [^\n]; JavaScript's would also stop at \r, \u2028 and \u2029
  var Single = "[^'\\\\]*(?:\\\\[^\\n][^'\\\\]*)*'", Double = '[^"\\\\]*(?:\\\\[^\\n][^"\\\\]*)*"';
  var Single3 = "[^'\\\\]*(?:(?:\\\\[^\\n]|'(?!''))[^'\\\\]*)*'''";
  var Double3 = '[^"\\\\]*(?:(?:\\\\[^\\n]|"(?!""))[^"\\\\]*)*"""';
  var Triple = group(StringPrefix + "'''", StringPrefix + '"""');
  var OPS = ['~', '}', '|=', '|', '{', '^=', '^', ']', '[', '@=', '@', '>>=', '>>', '>=', '>', '==', '=',
    '<=', '<<=', '<<', '<', ';', ':=', ':', '/=', '//=', '//', '/', '...', '.', '->', '-=', '-', ',', '+=',
    '+', '*=', '**=', '**', '*', ')', '(', '&=', '&', '%=', '%', '!='];
  var Special = group.apply(null, OPS.map(reEscape));
  var Funny = group('\\r?\\n', Special);
  var ContStr = group(StringPrefix + "'[^\\n'\\\\]*(?:\\\\[^\\n][^\\n'\\\\]*)*" + group("'", '\\\\\\r?\\n'),
                      StringPrefix + '"[^\\n"\\\\]*(?:\\\\[^\\n][^\\n"\\\\]*)*' + group('"', '\\\\\\r?\\n'));
  var PseudoExtras = group('\\\\\\r?\\n|$', Comment, Triple);
  var PseudoToken = new RegExp(Whitespace + '(' + group(PseudoExtras, NumberRe, Funny, ContStr, Name) + ')', 'uy');
  var ENDPATS = {"'": Single, '"': Double, "'''": Single3, '"""': Double3};
  var single = {}, triple = {};
  prefixes.forEach(function (p) { single[p + '"'] = single[p + "'"] = true; triple[p + '"""'] = triple[p + "'''"] = true; });
  function endprog(q) { return new RegExp(ENDPATS[q], 'uy'); }
  var ID_START = /^[\p{XID_Start}_]/u;

  function pyTokens(code) {  // tokenize.generate_tokens(io.StringIO(code).readline); null where it raises
    var lines = code.match(/[^\n]*\n|[^\n]+$/g) || [];
    var toks = [], lnum = 0, parenlev = 0, continued = false, indents = [0];
    var contstr = '', needcont = false, strstart = null, prog = null;
    for (var li = 0; ; li++) {
      var line = li < lines.length ? lines[li] : '';
      lnum += 1;
      var pos = 0, max = line.length;
      if (contstr) {
        if (!line) return null;  // EOF in multi-line string
        prog.lastIndex = 0;
        var em = prog.exec(line);
        if (em) {
          pos = em.index + em[0].length;
          toks.push({type: 'STRING', start: strstart, end: [lnum, pos], string: contstr + line.slice(0, pos)});
          contstr = ''; needcont = false;
        } else if (needcont && line.slice(-2) !== '\\\n' && line.slice(-3) !== '\\\r\n') {
          contstr = '';
          continue;  // an ERRORTOKEN
        } else { contstr += line; continue; }
      } else if (parenlev === 0 && !continued) {
        if (!line) break;
        var column = 0;
        while (pos < max) {
          var c = line[pos];
          if (c === ' ') column += 1;
          else if (c === '\t') column = (Math.floor(column / 8) + 1) * 8;
          else if (c === '\f') column = 0;
          else break;
          pos += 1;
        }
        if (pos === max) break;
        if ('#\r\n'.indexOf(line[pos]) >= 0) continue;  // a comment or blank line
        if (column > indents[indents.length - 1]) indents.push(column);
        while (column < indents[indents.length - 1]) {
          if (indents.indexOf(column) < 0) return null;  // IndentationError
          indents.pop();
        }
      } else {
        if (!line) return null;  // EOF in multi-line statement
        continued = false;
      }
      while (pos < max) {
        PseudoToken.lastIndex = pos;
        var pm = PseudoToken.exec(line);
        if (pm) {
          var start = pm.index + pm[0].length - pm[1].length, end = pm.index + pm[0].length;
          pos = end;
          if (start === end) continue;
          var token = line.slice(start, end), initial = line[start];
          if ('0123456789'.indexOf(initial) >= 0 || (initial === '.' && token !== '.' && token !== '...')) {
            toks.push({type: 'NUMBER', start: [lnum, start], end: [lnum, end], string: token});
          } else if (initial === '\r' || initial === '\n' || initial === '#') {
            // NEWLINE, NL or COMMENT
          } else if (triple[token]) {
            prog = endprog(token.slice(-3));
            prog.lastIndex = pos;
            var em2 = prog.exec(line);
            if (em2) {
              pos = em2.index + em2[0].length;
              toks.push({type: 'STRING', start: [lnum, start], end: [lnum, pos], string: line.slice(start, pos)});
            } else { strstart = [lnum, start]; contstr = line.slice(start); break; }
          } else if (single[initial] || single[token.slice(0, 2)] || single[token.slice(0, 3)]) {
            if (token[token.length - 1] === '\n') {
              strstart = [lnum, start];
              prog = endprog(ENDPATS[initial] ? initial : (ENDPATS[token[1]] ? token[1] : token[2]));
              contstr = line.slice(start); needcont = true;
              break;
            }
            toks.push({type: 'STRING', start: [lnum, start], end: [lnum, end], string: token});
          } else if (ID_START.test(token)) {  // initial.isidentifier()
            toks.push({type: 'NAME', start: [lnum, start], end: [lnum, end], string: token});
          } else if (initial === '\\') {
            continued = true;
          } else {
            if ('([{'.indexOf(initial) >= 0) parenlev += 1;
            else if (')]}'.indexOf(initial) >= 0) parenlev -= 1;
            toks.push({type: 'OP', start: [lnum, start], end: [lnum, end], string: token});
          }
        } else {
          pos += line.codePointAt(pos) > 0xffff ? 2 : 1;  // an ERRORTOKEN: one character
        }
      }
    }
    return toks;
  }

  function offsets(code) {  // slots._offsets: line starts by str.splitlines(keepends=True)
    var starts = [0], pos = 0, re = /[^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029])?/gy;
    while (pos < code.length) {
      re.lastIndex = pos;
      var m = re.exec(code);
      pos += m[0].length;
      starts.push(pos);
    }
    return starts;
  }

  function editTokens(code, edit) {  // slots._edit_tokens; null where the code does not tokenize
    var toks = pyTokens(code);
    if (toks === null) return null;
    var starts = offsets(code), spans = [];
    toks.forEach(function (t) {
      var a = starts[t.start[0] - 1] + t.start[1], b = starts[t.end[0] - 1] + t.end[1];
      spans.push([a, b, t.type, t.string]);
    });
    var merged = [];
    spans.forEach(function (s) {
      var n = merged.length;
      if (n >= 2 && s[2] === 'NAME' && merged[n - 1][3] === '.' && merged[n - 1][0] === merged[n - 2][1] &&
          s[0] === merged[n - 1][1] && merged[n - 2][2] === 'NAME') {
        var dot = merged.pop(), prev = merged[merged.length - 1];
        merged[merged.length - 1] = [prev[0], s[1], 'NAME', prev[3] + dot[3] + s[3]];
      } else merged.push(s);
    });
    var out = [], last = 0;
    merged.forEach(function (s) {
      var neu = edit(s[2], s[3]);
      if (neu === null) return;
      out.push(code.slice(last, s[0])); out.push(neu); last = s[1];
    });
    out.push(code.slice(last));
    return out.join('');
  }

  // ---------------------------------------------------------------- restore
  var PRINTABLE_NOT = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
  function pyRepr(s) {  // repr(str)
    var q = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'", out = q;
    for (var ch of s) {
      var cp = ch.codePointAt(0);
      if (ch === q || ch === '\\') out += '\\' + ch;
      else if (ch === '\t') out += '\\t';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
      else if (cp < 0x7f) out += ch;
      else if (ch !== ' ' && PRINTABLE_NOT.test(ch)) {
        out += cp <= 0xff ? '\\x' + cp.toString(16).padStart(2, '0') :
          cp <= 0xffff ? '\\u' + cp.toString(16).padStart(4, '0') : '\\U' + cp.toString(16).padStart(8, '0');
      } else out += ch;
    }
    return out + q;
  }

  function stringParts(token) {  // slots._string_parts
    var m = /^([rRbBuU]{0,2})('''|"""|'|")([\s\S]*)\2$/.exec(token);
    return m ? [m[1] + m[2], m[3], m[2]] : null;
  }

  function restore(code, slots) {  // slots.restore
    if (!slots || !slots.length) return code;
    var table = {};
    slots.forEach(function (s) { table[s.name] = s; });
    var has = function (n) { return Object.prototype.hasOwnProperty.call(table, n); };
    function bare(name) { var s = table[name]; return s.kind === 'str' ? pyRepr(s.value) : s.value; }
    function inside(body, quote, raw) {
      return body.replace(SLOT_NAME, function (m0) {
        if (!has(m0)) return m0;
        var value = table[m0].value;
        if (!raw && quote.length === 1) value = value.replace(new RegExp('(?<!\\\\)' + quote, 'g'), '\\' + quote);
        return value;
      });
    }
    var edited = editTokens(code, function (kind, text) {
      if (kind === 'NAME') {
        var parts = text.split('.');
        if (parts.some(has)) return parts.map(function (p) { return has(p) ? bare(p) : p; }).join('.');
        return null;
      }
      if (kind === 'STRING') {
        var p = stringParts(text);
        SLOT_NAME.lastIndex = 0;
        if (p && SLOT_NAME.test(p[1])) {
          SLOT_NAME.lastIndex = 0;
          return p[0] + inside(p[1], p[2], p[0].toLowerCase().indexOf('r') >= 0) + p[2];
        }
      }
      return null;
    });
    SLOT_NAME.lastIndex = 0;
    if (edited !== null) return edited;
    return code.replace(SLOT_NAME, function (m0) {  // code that does not tokenize: text replacement
      var off = arguments[arguments.length - 2];
      if (!has(m0)) return m0;
      var s = table[m0], before = off > 0 ? code[off - 1] : '';
      return (before === '' || before === "'" || before === '"' || s.kind !== 'str') ? s.value : pyRepr(s.value);
    });
  }

  return {canonicalizeRequest: canonicalizeRequest, restore: restore, pyTokens: pyTokens, pyRepr: pyRepr,
          canonicalize: function (prompt) { var c = canonicalizeRequest(prompt); return {text: c.text, slots: c.slots}; }};
})();

if (typeof module !== 'undefined') module.exports = cgSlots;
