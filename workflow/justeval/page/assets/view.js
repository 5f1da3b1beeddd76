// One (model, benchmark) cell's problems: a click on a problem's row loads its file
// (p/NNNN.js, beside this page; it calls justevalProblem) and shows every sample.
// Text is only ever set as text (textContent); math arrives as MathML built on the
// build machine from an allow-list, and is copied here element by element through
// the same allow-list, so nothing in a response can become markup or script.
(function () {
  "use strict";
  var NS = "http://www.w3.org/1998/Math/MathML";
  var ELEMENTS = {}, ATTRIBUTES = {};
  ("math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mstyle merror " +
   "mpadded mphantom menclose mover munder munderover mtable mtr mtd mmultiscripts " +
   "mprescripts none semantics").split(" ").forEach(function (e) { ELEMENTS[e] = true; });
  ("display mathvariant displaystyle scriptlevel stretchy fence separator lspace rspace " +
   "minsize maxsize accent accentunder linethickness columnalign rowalign columnspacing " +
   "rowspacing columnlines rowlines frame width height depth form movablelimits symmetric " +
   "largeop").split(" ").forEach(function (a) { ATTRIBUTES[a] = true; });
  var FOLD = 2500, HEAD = 700, TAIL = 1300;  // characters of a long response shown folded
  var loaded = {}, pending = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function copyMath(node) {
    if (node.nodeType === 3) return document.createTextNode(node.nodeValue);
    if (node.nodeType !== 1) return undefined;
    if (node.namespaceURI !== NS || !ELEMENTS[node.localName]) return null;
    var out = document.createElementNS(NS, node.localName);
    for (var i = 0; i < node.attributes.length; i++) {
      var a = node.attributes[i];
      if (ATTRIBUTES[a.name] || (a.name === "class" && a.value === "boxed")) out.setAttribute(a.name, a.value);
    }
    for (var c = node.firstChild; c; c = c.nextSibling) {
      var k = copyMath(c);
      if (k === null) return null;
      if (k) out.appendChild(k);
    }
    return out;
  }
  function mathNode(source) {
    var doc = new DOMParser().parseFromString(source, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) return null;
    return copyMath(doc.documentElement);
  }
  function segment(seg) {
    if (seg[0] === "t") return document.createTextNode(seg[1]);
    if (seg[0] === "m") {
      var span = el("span", seg[2] ? "math final" : "math");
      var m = mathNode(seg[1]);
      if (m) span.appendChild(m); else span.textContent = "[math]";
      return span;
    }
    return el("span", seg[2] ? "tex final" : "tex", seg[1]);
  }
  function size(seg) { return seg[0] === "m" ? seg[3] : seg[1].length; }
  function render(segs, into) { segs.forEach(function (s) { into.appendChild(segment(s)); }); }
  // the first HEAD and last TAIL characters, whole segments (a text one may be cut)
  function cut(segs, fromStart, limit) {
    var out = [], used = 0, list = fromStart ? segs : segs.slice().reverse();
    for (var i = 0; i < list.length && used < limit; i++) {
      var s = list[i], n = size(s);
      if (s[0] === "t" && used + n > limit) {
        var keep = limit - used;
        s = ["t", fromStart ? s[1].slice(0, keep) : s[1].slice(s[1].length - keep)];
        n = keep;
      }
      out.push(s); used += n;
    }
    return { segs: fromStart ? out : out.reverse(), count: out.length, chars: used };
  }
  function response(segs, total) {
    var box = el("div", "response");
    if (total <= FOLD) { render(segs, box); return box; }
    var head = cut(segs, true, HEAD), tail = cut(segs, false, TAIL);
    render(head.segs, box);
    var hidden = total - head.chars - tail.chars;
    var button = el("button", "unfold", "… " + hidden.toLocaleString("en") + " characters folded: show all");
    button.addEventListener("click", function () {
      while (box.firstChild) box.removeChild(box.firstChild);
      render(segs, box);
    });
    box.appendChild(el("br"));
    box.appendChild(button);
    box.appendChild(el("br"));
    render(tail.segs, box);
    return box;
  }
  function field(parent, label, value) {
    parent.appendChild(document.createTextNode(" · " + label + " "));
    parent.appendChild(el("code", null, value === null || value === undefined ? "—" : String(value)));
  }
  function show(problem) {
    var detail = document.getElementById("detail");
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    detail.setAttribute("data-problem-id", problem.problem_id);
    detail.appendChild(el("h2", null, "Problem " + problem.problem_id));
    var statement = el("div", "statement");
    render(problem.statement, statement);
    detail.appendChild(statement);
    var gold = el("p");
    gold.appendChild(document.createTextNode("Gold answer: "));
    render(problem.gold, gold);
    detail.appendChild(gold);
    var count = problem.samples.length === 1 ? "1 sample" : problem.samples.length + " samples";
    detail.appendChild(el("p", "note", count + "; the final \\boxed{} the grader read is highlighted."));
    problem.samples.forEach(function (s) {
      var d = el("details", "sample " + (s.correct ? "correct" : "wrong"));
      d.setAttribute("data-sample-idx", String(s.sample_idx));
      d.setAttribute("data-correct", s.correct ? "true" : "false");
      var sum = el("summary");
      sum.appendChild(el("b", null, "#" + s.sample_idx));
      sum.appendChild(document.createTextNode(" "));
      sum.appendChild(el("span", "verdict", s.correct ? "correct" : "incorrect"));
      field(sum, "answer", s.extracted_answer);
      field(sum, "grader layer", s.layer + " (" + s.status + ")");
      field(sum, "verifier", s.verifier_verdict);
      field(sum, s.length_unit, s.length);
      field(sum, "finish", s.finish_reason);
      d.appendChild(sum);
      var body = el("div");
      body.appendChild(el("div", "note", "seed " + s.seed + " · " + s.chars.toLocaleString("en") + " characters"));
      d.addEventListener("toggle", function once() {
        if (d.open && !body.getAttribute("data-rendered")) {
          body.appendChild(response(s.response, s.chars));
          body.setAttribute("data-rendered", "1");
        }
      });
      d.appendChild(body);
      detail.appendChild(d);
    });
    detail.scrollIntoView();
  }
  function open(index) {
    var rows = document.querySelectorAll("tr.problem");
    Array.prototype.forEach.call(rows, function (r) { r.classList.remove("open"); });
    var row = document.querySelector('tr.problem[data-index="' + index + '"]');
    if (!row) return;
    row.classList.add("open");
    if (loaded[index]) { show(loaded[index]); return; }
    pending = index;
    var script = document.createElement("script");
    script.src = row.getAttribute("data-file");
    document.body.appendChild(script);
  }
  window.justevalProblem = function (problem) {
    var key = String(problem.index);
    loaded[key] = problem;
    if (pending === key) show(problem);
  };
  Array.prototype.forEach.call(document.querySelectorAll("tr.problem"), function (row) {
    row.addEventListener("click", function () {
      var index = row.getAttribute("data-index");
      history.replaceState(null, "", "#p=" + index);
      open(index);
    });
  });
  var m = /^#p=(\d+)$/.exec(location.hash);
  if (m) open(m[1]);
})();
