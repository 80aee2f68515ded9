/* nnbackprop report viewer: plain JavaScript, no libraries, no network.
 *
 * The page's data (a <script type="application/json">) holds the recorded epochs'
 * parameters and the training data; everything shown is computed here from them with the
 * formulas of nnbackprop.network (one input, H hidden neurons, one linear output, SSR):
 *
 *   x_i = input * w_i + b_i,  y_i = activation(x_i),  predicted = sum_i y_i * w_(H+i) + b_(H+1)
 *   dSSR/dw_i = sum over samples of dSSR/dpredicted * dpredicted/dy_i * dy_i/dx_i * dx_i/dw_i
 *
 * Data of many rows comes as rows spread over it (D.data.rows, one from each equal stretch,
 * their row numbers from 0) and the sums over all D.data.n rows (D.totals): the page shows
 * those sums, and computes the per-sample numbers of the rows it holds.
 */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("report-data").textContent);
  var H = D.hidden, NAMES = D.names, P = NAMES.length;
  var X = D.data.x, Y = D.data.y, N = X.length, ROWS = D.data.rows, TOTALS = D.totals;
  var EPOCHS = D.snapshots.epochs, PARAMS = D.snapshots.params;
  var LAST = EPOCHS.length - 1;
  var COLORS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"];
  var GREEN = "#2b8a3e";
  var SVGNS = "http://www.w3.org/2000/svg";

  var state = { index: LAST, param: NAMES[0], sample: 0, playing: false, timer: null, classMode: false };

  // --- the math, as in nnbackprop.network ------------------------------------------

  var ACTIVATIONS = {
    softplus: function (z) {
      var t = Math.exp(-Math.abs(z));
      return [Math.max(z, 0) + Math.log1p(t), (z >= 0 ? 1 : t) / (1 + t)];
    },
    sigmoid: function (z) {
      var t = Math.exp(-Math.abs(z));
      return [(z >= 0 ? 1 : t) / (1 + t), t / ((1 + t) * (1 + t))];
    },
    tanh: function (z) {
      var a = Math.tanh(z);
      return [a, 1 - a * a];
    },
    relu: function (z) {
      return [Math.max(z, 0), z > 0 ? 1 : 0];
    }
  };
  var activation = ACTIVATIONS[D.activation];

  function num(v) { return v === null ? NaN : typeof v === "string" ? Number(v.replace("inf", "Infinity")) : v; }
  function theta(index) { return PARAMS[index].map(num); }
  function wIn(t, i) { return t[2 * i]; }
  function bIn(t, i) { return t[2 * i + 1]; }
  function wOut(t, i) { return t[2 * H + i]; }
  function bOut(t) { return t[3 * H]; }

  function predictAt(t, x) {
    var sum = bOut(t);
    for (var i = 0; i < H; i++) sum += activation(x * wIn(t, i) + bIn(t, i))[0] * wOut(t, i);
    return sum;
  }

  function ssrAt(t) {
    var s = 0;
    for (var k = 0; k < N; k++) { var r = Y[k] - predictAt(t, X[k]); s += r * r; }
    return s;
  }

  // A held sample's row number in the data, from 1.
  function row(k) { return (ROWS ? ROWS[k] : k) + 1; }

  // Which rows of the data are held: "", or a sentence saying which and that the sums are over all.
  function heldNote() {
    return ROWS ? "The page holds " + N + " of the " + D.data.n + " samples, one from each equal stretch of rows; every sum is over all " +
      D.data.n + ", computed when the page was written." : "";
  }

  // The forward pass and every parameter's gradient at t: sums of the chain-rule products
  // (over every row: D.totals at recorded epoch `index`, when the page holds only some).
  function evaluate(t, index) {
    var z = [], a = [], da = [], predicted = [], dpred = [], grad = new Array(P).fill(0), ssr = 0;
    for (var k = 0; k < N; k++) {
      var zk = [], ak = [], dk = [], p = bOut(t);
      for (var i = 0; i < H; i++) {
        var zi = X[k] * wIn(t, i) + bIn(t, i), r = activation(zi);
        zk.push(zi); ak.push(r[0]); dk.push(r[1]);
        p += r[0] * wOut(t, i);
      }
      z.push(zk); a.push(ak); da.push(dk); predicted.push(p);
      var residual = Y[k] - p, d = -2 * residual;
      dpred.push(d);
      ssr += residual * residual;
      for (var j = 0; j < H; j++) {
        var through = d * wOut(t, j) * dk[j];
        grad[2 * j] += through * X[k];
        grad[2 * j + 1] += through * 1;
        grad[2 * H + j] += d * ak[j];
      }
      grad[3 * H] += d * 1;
    }
    if (TOTALS) { ssr = num(TOTALS.ssr[index]); grad = TOTALS.gradient[index].map(num); }
    return { t: t, z: z, a: a, da: da, predicted: predicted, dpred: dpred, grad: grad, ssr: ssr };
  }

  function localName(neuron) {
    return D.derivative.replace(/\b([xy])\b/g, "$1" + neuron);
  }

  // One parameter's chain, as nnbackprop explain prints it: factor names, formulas, values per sample.
  function chain(name, e) {
    var j = NAMES.indexOf(name), t = e.t;
    var factors = [{ name: "dSSR/dpredicted", formula: "-2 * (observed - predicted)", at: function (k) { return e.dpred[k]; } }];
    if (j === 3 * H) {
      factors.push({ name: "dpredicted/d" + name, formula: "1", at: function () { return 1; } });
    } else if (j >= 2 * H) {
      var n = j - 2 * H;
      factors.push({ name: "dpredicted/d" + name, formula: "y" + (n + 1), at: function (k) { return e.a[k][n]; } });
    } else {
      var i = Math.floor(j / 2), nr = i + 1, weight = j % 2 === 0;
      factors.push({ name: "dpredicted/dy" + nr, formula: "w" + (H + nr), at: function () { return wOut(t, i); } });
      factors.push({ name: "dy" + nr + "/dx" + nr, formula: localName(nr), at: function (k) { return e.da[k][i]; } });
      factors.push(weight
        ? { name: "dx" + nr + "/d" + name, formula: "input", at: function (k) { return X[k]; } }
        : { name: "dx" + nr + "/d" + name, formula: "1", at: function () { return 1; } });
    }
    return factors;
  }

  // --- numbers as explain prints them -----------------------------------------------

  // nnbackprop.explain.number: 4 decimals; scientific (3 decimals) when that would hide the value.
  function fmt(v) {
    if (v === null || v === undefined) return "nan";
    v = Number(v) + 0;
    if (!isFinite(v)) return isNaN(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    var size = Math.abs(v);
    if (v === 0 || (size >= 1e-3 && size < 1e6)) return fixed4(v);
    return v.toExponential(3).replace(/e([+-])(\d)$/, "e$10$2");
  }

  // toFixed(4), but a tie rounds to even as Python does (toFixed rounds it away from 0).
  function fixed4(v) {
    var text = v.toFixed(4), exact = Math.abs(v).toFixed(100);
    var tail = exact.slice(exact.indexOf(".") + 5);
    if (!/^50*$/.test(tail)) return text;
    var n = parseInt(text.replace("-", "").replace(".", ""), 10);
    if (n % 2 === 0) return text;
    n -= 1;
    var digits = String(n).padStart(5, "0");
    return (v < 0 && n !== 0 ? "-" : "") + digits.slice(0, -4) + "." + digits.slice(-4);
  }

  function minus(v) { var s = fmt(v); return s.charAt(0) === "-" ? "(" + s + ")" : s; }
  function paren(s) { return s.indexOf(" ") >= 0 ? "(" + s + ")" : s; }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // --- what the selected epoch shows ---------------------------------------------------

  var LOSS = new Map();
  D.loss.epochs.forEach(function (e, k) { LOSS.set(e, D.loss.ssr[k]); });

  function epochOf(index) { return EPOCHS[index]; }

  // The step each parameter takes from this epoch, and its new value (null: not recorded).
  function steps(index, e) {
    var t = e.t, out = { step: [], next: [], note: "", after: null };
    var epoch = epochOf(index), stopped = index === LAST;
    if (D.fixed_rate) {
      for (var j = 0; j < P; j++) {
        var s = D.trainable[j] ? e.grad[j] * D.learning_rate : 0;
        out.step.push(s + 0); out.next.push(t[j] - s);
      }
      out.after = TOTALS ? num(TOTALS.after[index]) : ssrAt(out.next);
      if (stopped) out.note = "Training stopped after this epoch (" + (D.run.stop_reason || "?") + "): this step was not taken.";
      return out;
    }
    var following = index < LAST && epochOf(index + 1) === epoch + 1 ? theta(index + 1) : null;
    for (var m = 0; m < P; m++) {
      out.step.push(following ? t[m] - following[m] : null);
      out.next.push(following ? following[m] : null);
    }
    if (following) {
      out.after = LOSS.has(epoch + 1) ? num(LOSS.get(epoch + 1)) : TOTALS ? num(TOTALS.after[index]) : ssrAt(following);
      out.note = D.optimizer + " finds its own steps: step size = old - new, from the parameters recorded at epoch " + (epoch + 1) + ".";
    } else if (stopped) {
      out.note = "Training stopped after this epoch (" + (D.run.stop_reason || "?") + "): there is no next step.";
    } else {
      out.note = "The step is not recorded: " + D.optimizer + " finds its own steps (step size = old - new), and epoch " +
        (epoch + 1) + " is not among the recorded epochs (the next recorded one is " + epochOf(index + 1) + ").";
    }
    return out;
  }

  // --- drawing helpers -------------------------------------------------------------------

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    var raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (f) { return f * mag; }).find(function (s) { return s >= raw; });
    var ticks = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return ticks;
  }

  function tickText(v) { return String(Number(v.toPrecision(6))); }

  function neuronColor(i) { return COLORS[i % COLORS.length]; }

  // Which hidden neurons are drawn: all up to 8; else 1-5, the selected parameter's and the last.
  function visibleNeurons() {
    if (H <= 8) return Array.from({ length: H }, function (_, i) { return i; });
    var shown = [0, 1, 2, 3, 4, H - 1], k = neuronOf(state.param);
    if (k !== null && shown.indexOf(k) < 0) shown[4] = k;
    return shown.sort(function (p, q) { return p - q; });
  }

  function neuronOf(name) {
    var j = NAMES.indexOf(name);
    if (j < 2 * H) return Math.floor(j / 2);
    if (j < 3 * H) return j - 2 * H;
    return null;
  }

  function paramLabel(group, x, y, name, value, gradient, anchor) {
    var selected = name === state.param ? " selected" : "";
    var label = svg("text", { x: x, y: y, "text-anchor": anchor || "middle", "class": "label name clickable" + selected, "data-param": name },
      name + " = " + fmt(value));
    var grad = svg("text", { x: x, y: y + 17, "text-anchor": anchor || "middle", "class": "label grad clickable", "data-param": name },
      "dSSR/d" + name + " = " + fmt(gradient));
    var back = svg("rect", { "class": "label-back" });
    group.appendChild(back); group.appendChild(label); group.appendChild(grad);
    var a = label.getBBox(), b = grad.getBBox(), x0 = Math.min(a.x, b.x), x1 = Math.max(a.x + a.width, b.x + b.width);
    back.setAttribute("x", x0 - 3); back.setAttribute("y", a.y - 1);
    back.setAttribute("width", x1 - x0 + 6); back.setAttribute("height", b.y + b.height - a.y + 2);
  }

  // --- the network ---------------------------------------------------------------------

  function drawNetwork(e) {
    var root = clear(document.getElementById("network")), t = e.t, k = state.sample;
    var shown = visibleNeurons(), rows = [];
    shown.forEach(function (n, i) {
      if (i > 0 && n !== shown[i - 1] + 1) rows.push({ gap: n - shown[i - 1] - 1 });
      rows.push({ neuron: n });
    });
    var W = 900, rowH = 136, top = 70, height = Math.max(380, top + rows.length * rowH + 40);
    var xin = 72, xh = 450, xout = 818, ymid = top + (rows.length * rowH) / 2;
    root.setAttribute("viewBox", "0 0 " + W + " " + height);
    var edges = svg("g", {}), labels = svg("g", {});
    root.appendChild(edges); root.appendChild(labels);

    rows.forEach(function (row, r) {
      var y = top + r * rowH + rowH / 2;
      if (row.gap) {
        labels.appendChild(svg("text", { x: xh, y: y + 5, "text-anchor": "middle", "class": "label small" },
          "\u22EE " + row.gap + " more neuron" + (row.gap === 1 ? "" : "s") + " (not drawn) \u22EE"));
        return;
      }
      var i = row.neuron, nr = i + 1, color = neuronColor(i);
      var wi = NAMES[2 * i], bi = NAMES[2 * i + 1], wo = NAMES[2 * H + i];
      [[xin + 38, ymid, xh - 78, y, wi], [xh + 78, y, xout - 40, ymid, wo]].forEach(function (l) {
        var d = "M" + l[0] + "," + l[1] + " L" + l[2] + "," + l[3];
        edges.appendChild(svg("path", { d: d, "class": "edge" + (state.param === l[4] ? " selected" : "") }));
        edges.appendChild(svg("path", { d: d, "class": "hit", "data-param": l[4] }));
      });
      var at = 0.62, lx = xin + 38 + at * (xh - 78 - xin - 38), ly = ymid + at * (y - ymid);
      paramLabel(labels, lx, ly - 6, wi, wIn(t, i), e.grad[2 * i]);
      var bt = 0.38, ox = xh + 78 + bt * (xout - 40 - xh - 78), oy = y + bt * (ymid - y);
      paramLabel(labels, ox, oy - 6, wo, wOut(t, i), e.grad[2 * H + i]);
      var box = svg("rect", { x: xh - 78, y: y - 35, width: 156, height: 70, rx: 12, "class": "node", style: "stroke:" + color });
      labels.appendChild(box);
      labels.appendChild(svg("text", { x: xh, y: y - 15, "text-anchor": "middle", "class": "label small" }, D.activation + " neuron " + nr));
      labels.appendChild(svg("text", { x: xh, y: y + 5, "text-anchor": "middle", "class": "label" }, "x" + nr + " = " + fmt(e.z[k][i])));
      labels.appendChild(svg("text", { x: xh, y: y + 25, "text-anchor": "middle", "class": "label" }, "y" + nr + " = " + fmt(e.a[k][i])));
      paramLabel(labels, xh, y - 62, bi, bIn(t, i), e.grad[2 * i + 1]);
    });

    labels.appendChild(svg("circle", { cx: xin, cy: ymid, r: 38, "class": "node" }));
    labels.appendChild(svg("text", { x: xin, y: ymid - 50, "text-anchor": "middle", "class": "label name" }, D.data.input));
    labels.appendChild(svg("text", { x: xin, y: ymid + 6, "text-anchor": "middle", "class": "label big" }, fmt(X[k])));
    labels.appendChild(svg("text", { x: xin, y: ymid + 60, "text-anchor": "middle", "class": "label small" }, "sample " + row(k)));

    var bo = NAMES[3 * H];
    labels.appendChild(svg("circle", { cx: xout, cy: ymid, r: 40, "class": "node" + (state.param === bo ? " selected" : ""), style: "stroke:" + GREEN }));
    labels.appendChild(svg("text", { x: xout, y: ymid - 9, "text-anchor": "middle", "class": "label small" }, "predicted"));
    labels.appendChild(svg("text", { x: xout, y: ymid + 14, "text-anchor": "middle", "class": "label big" }, fmt(e.predicted[k])));
    paramLabel(labels, xout, ymid + 64, bo, bOut(t), e.grad[3 * H], "middle");
    labels.appendChild(svg("text", { x: xout, y: ymid + 112, "text-anchor": "middle", "class": "label small" }, "observed " + D.data.target));
    labels.appendChild(svg("text", { x: xout, y: ymid + 130, "text-anchor": "middle", "class": "label" }, fmt(Y[k])));

    document.getElementById("network-note").textContent = H > shown.length
      ? "Drawn: " + shown.length + " of the " + H + " hidden neurons (1-5, the last, and the selected parameter's); the fit, the tables and the SSR use all of them."
      : "";
  }

  // --- the fit ---------------------------------------------------------------------------

  function drawFit(e) {
    var root = clear(document.getElementById("fit")), t = e.t;
    var W = 540, Ht = 420, L = 56, R = 14, T = 14, B = 44;
    root.setAttribute("viewBox", "0 0 " + W + " " + Ht);
    var finite = X.filter(isFinite), lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    var pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
    var shown = visibleNeurons(), count = 161, xs = [];
    for (var s = 0; s < count; s++) xs.push(lo + (hi - lo) * s / (count - 1));
    var curves = shown.map(function (i) {
      return xs.map(function (x) { return activation(x * wIn(t, i) + bIn(t, i))[0] * wOut(t, i); });
    });
    var total = xs.map(function (x) { return predictAt(t, x); });
    var values = [].concat.apply([bOut(t)], curves).concat(total, Y).filter(isFinite);
    var ylo = Math.min.apply(null, values), yhi = Math.max.apply(null, values);
    if (!(yhi > ylo)) { ylo -= 1; yhi += 1; }
    var ypad = (yhi - ylo) * 0.08; ylo -= ypad; yhi += ypad;
    function px(x) { return L + (x - lo) / (hi - lo) * (W - L - R); }
    function py(y) { return T + (yhi - y) / (yhi - ylo) * (Ht - T - B); }
    axes(root, niceTicks(lo, hi, 6), niceTicks(ylo, yhi, 6), px, py, tickText, tickText, [L, W - R, T, Ht - B]);
    root.appendChild(svg("text", { x: (L + W - R) / 2, y: Ht - 6, "text-anchor": "middle", "class": "tick" }, D.data.input));
    function line(ys, attrs) {
      var d = "";
      ys.forEach(function (y, s) {
        if (!isFinite(y)) return;
        d += (d && isFinite(ys[s - 1]) ? " L" : "M") + px(xs[s]).toFixed(2) + "," + clamp(py(y)).toFixed(2);
      });
      root.appendChild(svg("path", Object.assign({ d: d, "class": "curve" }, attrs)));
    }
    function clamp(v) { return Math.max(-1e4, Math.min(1e4, v)); }
    curves.forEach(function (ys, c) { line(ys, { stroke: neuronColor(shown[c]), "stroke-dasharray": "7 5" }); });
    line(xs.map(function () { return bOut(t); }), { stroke: "#555", "stroke-dasharray": "2 4" });
    line(total, { stroke: GREEN, "stroke-width": 3.2 });
    X.forEach(function (x, k) {
      if (!isFinite(x) || !isFinite(Y[k])) return;
      if (k === state.sample) root.appendChild(svg("circle", { cx: px(x), cy: py(Y[k]), r: 10, fill: "none", stroke: "#d9480f", "stroke-width": 2.5 }));
      root.appendChild(svg("circle", { cx: px(x), cy: py(Y[k]), r: N > 60 ? 2.5 : 5.5, fill: "#111", "data-sample": k, style: "cursor:pointer" }));
    });
    var legend = shown.map(function (i) {
      return swatch(neuronColor(i), "7 5") + "y" + (i + 1) + " \u00D7 w" + (H + i + 1);
    });
    legend.push(swatch("#555", "2 4") + "b" + (H + 1));
    legend.push(swatch(GREEN, "", 3.2) + "predicted (the sum)");
    legend.push('<span><svg viewBox="0 0 28 10"><circle cx="14" cy="5" r="4" fill="#111"/></svg>' + esc(D.data.target) + (ROWS ? " (" + N + " of the " + D.data.n + " samples)" : "") + "</span>");
    document.getElementById("fit-legend").innerHTML = legend.map(function (s) { return s.indexOf("<span>") === 0 ? s : "<span>" + s + "</span>"; }).join("");
  }

  function swatch(color, dash, width) {
    return '<svg viewBox="0 0 28 10"><path d="M1,5 L27,5" stroke="' + color + '" stroke-width="' + (width || 2.2) +
      '" stroke-dasharray="' + dash + '" fill="none"/></svg>';
  }

  function axes(root, xticks, yticks, px, py, xtext, ytext, box) {
    var L = box[0], R = box[1], T = box[2], B = box[3];
    yticks.forEach(function (v) {
      var y = py(v);
      if (y < T - 1 || y > B + 1) return;
      root.appendChild(svg("line", { x1: L, x2: R, y1: y, y2: y, "class": "gridline" }));
      var label = ytext(v);
      if (typeof label === "string") root.appendChild(svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", "class": "tick" }, label));
      else root.appendChild(label(L - 6, y + 4));
    });
    xticks.forEach(function (v) {
      var x = px(v);
      if (x < L - 1 || x > R + 1) return;
      root.appendChild(svg("line", { x1: x, x2: x, y1: B, y2: B + 5, "class": "axis" }));
      root.appendChild(svg("text", { x: x, y: B + 18, "text-anchor": "middle", "class": "tick" }, xtext(v)));
    });
    root.appendChild(svg("path", { d: "M" + L + "," + T + " L" + L + "," + B + " L" + R + "," + B, "class": "axis", fill: "none" }));
  }

  // --- the loss curve --------------------------------------------------------------------

  var lossGeometry = null;

  function drawLoss() {
    var root = clear(document.getElementById("loss"));
    var W = 640, Ht = 320, L = 62, R = 18, T = 16, B = 44;
    root.setAttribute("viewBox", "0 0 " + W + " " + Ht);
    var epochs = D.loss.epochs, ssr = D.loss.ssr.map(num);
    var positive = ssr.filter(function (v) { return v > 0 && isFinite(v); });
    var lmin = positive.length ? Math.floor(Math.log10(Math.min.apply(null, positive))) : -1;
    var lmax = positive.length ? Math.ceil(Math.log10(Math.max.apply(null, positive))) : 1;
    if (lmax <= lmin) lmax = lmin + 1;
    var e0 = epochs[0], e1 = Math.max(epochs[epochs.length - 1], e0 + 1);
    function px(e) { return L + (e - e0) / (e1 - e0) * (W - L - R); }
    function py(v) {
      var l = v > 0 && isFinite(v) ? Math.log10(v) : lmin;
      return T + (lmax - l) / (lmax - lmin) * (Ht - T - B);
    }
    var every = Math.max(1, Math.ceil((lmax - lmin) / 7)), powers = [];
    for (var p = lmin; p <= lmax; p += every) powers.push(p);
    axes(root, niceTicks(e0, e1, 6).filter(function (v) { return v === Math.round(v); }), powers.map(function (q) { return Math.pow(10, q); }),
      px, py, function (v) { return String(v); }, function (v) {
        var q = Math.round(Math.log10(v));
        return function (x, y) {
          var text = svg("text", { x: x, y: y, "text-anchor": "end", "class": "tick" }, "10");
          text.appendChild(svg("tspan", { dy: -6, "font-size": 9.5 }, q < 0 ? "\u2212" + -q : String(q)));
          return text;
        };
      }, [L, W - R, T, Ht - B]);
    root.appendChild(svg("text", { x: (L + W - R) / 2, y: Ht - 6, "text-anchor": "middle", "class": "tick" }, "epoch"));
    var d = "";
    epochs.forEach(function (e, k) {
      if (!isFinite(ssr[k])) return;
      d += (d ? " L" : "M") + px(e).toFixed(2) + "," + py(ssr[k]).toFixed(2);
    });
    root.appendChild(svg("path", { d: d, "class": "loss-line" }));
    var rug = "";
    EPOCHS.forEach(function (e) { rug += "M" + px(e).toFixed(2) + "," + (Ht - B) + " v-7 "; });
    root.appendChild(svg("path", { d: rug, "class": "rug" }));
    var marker = svg("g", { id: "loss-marker" });
    root.appendChild(marker);
    var tip = svg("g", { "class": "tip", visibility: "hidden" });
    tip.appendChild(svg("rect", { rx: 4, height: 22 }));
    tip.appendChild(svg("text", {}));
    var overlay = svg("rect", { x: L, y: T, width: W - L - R, height: Ht - T - B, fill: "transparent", style: "cursor:crosshair" });
    root.appendChild(overlay);
    root.appendChild(tip);
    lossGeometry = { px: px, py: py, T: T, B: Ht - B, L: L, R: W - R, W: W, marker: marker, tip: tip };

    function nearest(evt) {
      var box = root.getBoundingClientRect(), x = (evt.clientX - box.left) / box.width * W;
      var e = e0 + (x - L) / (W - L - R) * (e1 - e0);
      return { epoch: e, k: closest(epochs, e) };
    }
    overlay.addEventListener("mousemove", function (evt) {
      var hit = nearest(evt), e = epochs[hit.k], v = ssr[hit.k];
      var label = "epoch " + e + ": SSR " + fmt(v), text = tip.lastChild;
      text.textContent = label;
      var width = label.length * 7 + 12, x = Math.min(Math.max(px(e) + 8, L), W - R - width), y = Math.max(py(v) - 30, T);
      tip.firstChild.setAttribute("x", x); tip.firstChild.setAttribute("y", y); tip.firstChild.setAttribute("width", width);
      text.setAttribute("x", x + 6); text.setAttribute("y", y + 15);
      tip.setAttribute("visibility", "visible");
      tip.setAttribute("data-epoch", e);
    });
    overlay.addEventListener("mouseleave", function () { tip.setAttribute("visibility", "hidden"); });
    overlay.addEventListener("click", function (evt) { select(closest(EPOCHS, nearest(evt).epoch)); });
  }

  function closest(sorted, value) {
    var lo = 0, hi = sorted.length - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (sorted[mid] <= value) lo = mid; else hi = mid; }
    return Math.abs(sorted[hi] - value) < Math.abs(sorted[lo] - value) ? hi : lo;
  }

  function markLoss(epoch, value) {
    var g = lossGeometry, marker = clear(g.marker), x = g.px(epoch);
    marker.appendChild(svg("line", { x1: x, x2: x, y1: g.T, y2: g.B, "class": "marker" }));
    if (isFinite(value)) marker.appendChild(svg("circle", { cx: x, cy: g.py(value), r: 5.5, fill: "#d9480f" }));
    var right = x > (g.L + g.R) / 2;
    marker.appendChild(svg("text", { x: x + (right ? -6 : 6), y: g.T + 14, "text-anchor": right ? "end" : "start", "class": "label" }, "epoch " + epoch));
  }

  // --- the ledger: one parameter's chain rule, as nnbackprop explain prints it --------------

  function drawLedger(e, st) {
    var name = state.param, j = NAMES.indexOf(name), factors = chain(name, e), d = "dSSR/d" + name;
    var k = state.sample, pad = " ".repeat(d.length);
    var rows = [], products = [];
    for (var s = 0; s < N; s++) {
      var values = factors.map(function (f) { return f.at(s); });
      var product = values.reduce(function (p, v) { return p * v; }, 1);
      products.push(product);
      rows.push({ s: s, values: values, product: product });
    }
    var gradient = TOTALS ? e.grad[j] : products.reduce(function (p, v) { return p + v; }, 0);
    var lo = 0, hi = N;
    if (N > 12) { lo = Math.max(0, Math.min(k - 5, N - 12)); hi = lo + 12; }
    var html = [];
    html.push('<div class="line value">' + name + " = " + fmt(e.t[j]) + (D.trainable[j] ? "" : "  (frozen)") + "</div>");
    html.push('<div class="line">' + d + " = " + factors.map(function (f) { return f.name; }).join(" * ") + "</div>");
    html.push('<div class="line">' + pad + " = " + esc(factors.map(function (f) { return paren(f.formula); }).join(" * ")) + "</div>");
    html.push('<table class="numbers" id="ledger-table"><thead><tr><th>sample</th>' +
      factors.map(function (f) { return "<th>" + f.name + "</th>"; }).join("") + "<th>product</th></tr></thead><tbody>");
    rows.slice(lo, hi).forEach(function (line) {
      html.push('<tr class="clickable' + (line.s === k ? " selected" : "") + '" data-sample="' + line.s + '"><td>' + row(line.s) + "</td>" +
        line.values.map(function (v) { return "<td>" + fmt(v) + "</td>"; }).join("") + '<td class="product">' + fmt(line.product) + "</td></tr>");
    });
    html.push("</tbody></table>");
    if (ROWS) html.push('<div class="note">' + (hi - lo) + " of the " + N + " held samples shown. " + heldNote() + "</div>");
    else if (N > 12) html.push('<div class="note">Rows ' + (lo + 1) + "-" + hi + " of " + N + " shown; the sum is over all " + N + " samples.</div>");
    var mine = rows[k];
    html.push('<div class="sample-line">sample ' + row(k) + ": " + mine.values.map(function (v) { return minus(v); }).join(" * ") +
      " = " + fmt(mine.product) + "</div>");
    html.push('<div class="line sum">' + d + " = sum of the products" + (ROWS ? " over all " + D.data.n + " samples" : "") + ' = <span id="ledger-sum">' + fmt(gradient) + "</span></div>");
    var value = fmt(e.t[j]);
    if (!D.trainable[j]) {
      html.push('<div class="line">not in training.trainable: step size 0, new ' + name + " = " + value + "</div>");
    } else if (D.fixed_rate) {
      html.push('<div class="line">step size = ' + d + " * learning rate = " + fmt(gradient) + " * " + esc(D.learning_rate_text) +
        ' = <span id="ledger-step">' + fmt(st.step[j]) + "</span></div>");
      html.push('<div class="line">new ' + name + " = " + name + " - step size = " + value + " - " + minus(st.step[j]) +
        ' = <span id="ledger-new">' + fmt(st.next[j]) + "</span></div>");
    } else if (st.step[j] !== null) {
      html.push('<div class="line">step size = old - new = ' + value + " - " + minus(st.next[j]) + ' = <span id="ledger-step">' + fmt(st.step[j]) + "</span></div>");
      html.push('<div class="line">new ' + name + " = " + name + " - step size = " + value + " - " + minus(st.step[j]) +
        ' = <span id="ledger-new">' + fmt(st.next[j]) + "</span></div>");
    }
    if (st.note) html.push('<div class="note">' + esc(st.note) + "</div>");
    if (D.optimizer === "lm") {
      html.push('<div class="note">lm steps by solving (J\u1D40J + \u03BB\u00B7I) \u03B4 = J\u1D40r; J\'s column for ' + name +
        " is this chain without dSSR/dpredicted (see nnbackprop explain with optimizer: lm).</div>");
    }
    document.getElementById("ledger").innerHTML = html.join("");
    document.getElementById("ledger-title").textContent = name;
  }

  // --- the tables ------------------------------------------------------------------------

  function drawParams(e, st) {
    var head = "<thead><tr><th>parameter</th><th>value</th><th>gradient</th><th>step size</th><th>new value</th></tr></thead>";
    var body = NAMES.map(function (name, j) {
      return '<tr class="clickable' + (name === state.param ? " selected" : "") + '" data-param="' + name + '"><td>' + name +
        (D.trainable[j] ? "" : " (frozen)") + '</td><td class="value">' + fmt(e.t[j]) + '</td><td class="gradient">' + fmt(e.grad[j]) +
        '</td><td class="step">' + (st.step[j] === null ? "\u2013" : fmt(st.step[j])) + '</td><td class="new">' +
        (st.next[j] === null ? "\u2013" : fmt(st.next[j])) + "</td></tr>";
    }).join("");
    document.getElementById("params").innerHTML = head + "<tbody>" + body + "</tbody>";
    var after = st.after !== null ? " -> " + fmt(st.after) + " after this epoch"
      : state.index === LAST ? "; training stopped after this epoch" : " -> not recorded after this epoch";
    document.getElementById("params-note").textContent = "SSR " + fmt(e.ssr) + after;
  }

  function drawForward(e) {
    var shown = visibleNeurons(), k = state.sample;
    var cols = ["input", "observed"];
    shown.forEach(function (i) { cols.push("x" + (i + 1), "y" + (i + 1)); });
    cols.push("predicted");
    var lo = 0, hi = N;
    if (N > 100) { lo = Math.max(0, Math.min(k - 50, N - 100)); hi = lo + 100; }
    var rows = [];
    for (var s = lo; s < hi; s++) {
      var cells = [X[s], Y[s]];
      shown.forEach(function (i) { cells.push(e.z[s][i], e.a[s][i]); });
      cells.push(e.predicted[s]);
      rows.push('<tr class="clickable' + (s === k ? " selected" : "") + '" data-sample="' + s + '"><td>' + row(s) + "</td>" +
        cells.map(function (v) { return "<td>" + fmt(v) + "</td>"; }).join("") + "</tr>");
    }
    document.getElementById("forward").innerHTML = "<thead><tr><th>sample</th>" +
      cols.map(function (c) { return "<th>" + c + "</th>"; }).join("") + "</tr></thead><tbody>" + rows.join("") + "</tbody>";
    var note = "SSR = sum of (observed - predicted)^2 = " + fmt(e.ssr);
    if (ROWS) note += "  (" + (hi - lo) + " of the " + N + " held samples shown. " + heldNote() + ")";
    else if (N > 100) note += "  (samples " + (lo + 1) + "-" + hi + " of " + N + " shown)";
    if (shown.length < H) note += "  (neurons " + shown.map(function (i) { return i + 1; }).join(", ") + " of " + H + " shown)";
    document.getElementById("forward-note").textContent = note;
  }

  function drawGradcheck() {
    var g = D.gradcheck, verdict = document.getElementById("gradcheck-verdict");
    if (!g) { verdict.textContent = "The final parameters are not finite: no gradcheck."; return; }
    verdict.innerHTML = '<span class="' + (g.ok ? "ok" : "bad") + '">' + esc(g.verdict) + "</span>";
    var body = NAMES.map(function (name) {
      var p = g.parameters[name];
      return "<tr><td>" + name + "</td><td>" + esc(p.analytic_text) + "</td><td>" + esc(p.numeric_text) + "</td><td>" +
        esc(p.rel_error_text) + '</td><td class="' + (p.ok || p.kink ? "ok" : "bad") + '">' + esc(p.verdict) + "</td></tr>";
    }).join("");
    document.getElementById("gradcheck").innerHTML =
      "<thead><tr><th>parameter</th><th>analytic</th><th>numeric</th><th>rel error</th><th>verdict</th></tr></thead><tbody>" + body + "</tbody>";
  }

  // --- state, controls and the address ---------------------------------------------------

  function render() {
    var index = state.index, epoch = epochOf(index), e = evaluate(theta(index), index), st = steps(index, e);
    var recorded = LOSS.has(epoch) ? num(LOSS.get(epoch)) : e.ssr;
    document.getElementById("epoch").textContent = epoch;
    document.getElementById("headline-epoch").textContent = epoch;
    document.getElementById("ssr").textContent = fmt(recorded);
    document.getElementById("position").textContent = "recorded " + (index + 1) + " of " + EPOCHS.length +
      (epoch === D.run.best_epoch ? " \u00B7 best" : "") + (index === LAST ? " \u00B7 last" : "");
    document.getElementById("slider").value = index;
    document.getElementById("param-select").value = state.param;
    var sampleSelect = document.getElementById("sample-select");
    if (sampleSelect) sampleSelect.value = String(state.sample);
    drawNetwork(e);
    drawFit(e);
    markLoss(epoch, recorded);
    drawLedger(e, st);
    drawParams(e, st);
    drawForward(e);
    writeAddress();
  }

  function select(index) {
    state.index = Math.max(0, Math.min(LAST, index));
    render();
  }

  function readAddress() {
    var params = new URLSearchParams(location.hash.replace(/^#/, "")), note = "";
    if (params.has("epoch")) {
      var epoch = parseInt(params.get("epoch"), 10);
      if (isFinite(epoch)) {
        state.index = closest(EPOCHS, epoch);
        if (EPOCHS[state.index] !== epoch) note = "Epoch " + epoch + " is not recorded: showing the nearest recorded one, " + EPOCHS[state.index] + ".";
      }
    }
    if (params.has("param") && NAMES.indexOf(params.get("param")) >= 0) state.param = params.get("param");
    if (params.has("sample")) {
      var k = parseInt(params.get("sample"), 10);  // a row number: the nearest held row
      if (k >= 1 && k <= (ROWS ? D.data.n : N)) state.sample = ROWS ? closest(ROWS, k - 1) : k - 1;
      if (row(state.sample) !== k && k >= 1 && k <= D.data.n) {
        note += (note ? " " : "") + "Sample " + k + " is not among the samples this page holds: showing the nearest held one, " + row(state.sample) + ".";
      }
    }
    setClassMode(params.get("class") === "1");
    document.getElementById("epoch-note").textContent = note;
  }

  var lastAddress = "";
  function writeAddress() {
    var hash = "#epoch=" + epochOf(state.index) + "&param=" + state.param + "&sample=" + row(state.sample) + (state.classMode ? "&class=1" : "");
    if (hash === location.hash) return;
    lastAddress = hash;
    try { history.replaceState(null, "", hash); } catch (err) { /* a browser that refuses: the page still works */ }
  }

  function setClassMode(on) {
    state.classMode = on;
    document.body.classList.toggle("class-mode", on);
  }

  function play() {
    state.playing = !state.playing;
    document.getElementById("play-text").textContent = state.playing ? "pause" : "play";
    document.getElementById("play-icon").querySelector("path").setAttribute("d", state.playing ? "M3 2h4v12H3zM9 2h4v12H9z" : "M4 2v12l10-6z");
    if (!state.playing) { clearInterval(state.timer); return; }
    if (state.index === LAST) select(0);
    state.timer = setInterval(function () {
      if (state.index >= LAST) { play(); return; }
      select(state.index + 1);
    }, Math.max(40, Math.min(400, 20000 / EPOCHS.length)));
  }

  function setup() {
    document.getElementById("summary").textContent = D.summary;
    document.getElementById("notes").textContent = D.notes.join(" ");
    document.getElementById("version").textContent = D.version ? " " + D.version : "";
    document.getElementById("loss-note").textContent = D.loss.thinned
      ? "The curve is drawn from " + D.loss.epochs.length + " of the " + (D.run.epochs + 1) +
        " epochs: in each of " + D.loss_buckets + " even stretches of epochs the lowest and the highest SSR, and every recorded epoch."
      : "";
    var slider = document.getElementById("slider");
    slider.max = LAST;
    slider.addEventListener("input", function () { select(parseInt(slider.value, 10)); });
    var paramSelect = document.getElementById("param-select");
    paramSelect.innerHTML = NAMES.map(function (n) { return '<option value="' + n + '">' + n + "</option>"; }).join("");
    paramSelect.addEventListener("change", function () { state.param = paramSelect.value; render(); });
    var sampleSelect = document.getElementById("sample-select");
    var options = [];
    for (var k = 0; k < N; k++) options.push('<option value="' + k + '">' + row(k) + ": " + fmt(X[k]) + "</option>");
    sampleSelect.innerHTML = options.join("");
    sampleSelect.addEventListener("change", function () { state.sample = parseInt(sampleSelect.value, 10); render(); });
    document.getElementById("first").addEventListener("click", function () { select(0); });
    document.getElementById("prev").addEventListener("click", function () { select(state.index - 1); });
    document.getElementById("next").addEventListener("click", function () { select(state.index + 1); });
    document.getElementById("last").addEventListener("click", function () { select(LAST); });
    document.getElementById("play").addEventListener("click", play);
    document.getElementById("class-mode").addEventListener("click", function () { setClassMode(true); render(); });
    document.addEventListener("click", function (evt) {
      var target = evt.target.closest ? evt.target.closest("[data-param],[data-sample]") : null;
      if (!target || target.tagName === "OPTION") return;
      if (target.hasAttribute("data-param")) state.param = target.getAttribute("data-param");
      else state.sample = parseInt(target.getAttribute("data-sample"), 10);
      render();
    });
    document.addEventListener("keydown", function (evt) {
      if (evt.target && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(evt.target.tagName) && evt.key !== " " && evt.key !== "c") return;
      if (evt.target && /^(SELECT|BUTTON)$/.test(evt.target.tagName) && evt.key === " ") return;
      if (evt.key === "ArrowLeft") { select(state.index - 1); evt.preventDefault(); }
      else if (evt.key === "ArrowRight") { select(state.index + 1); evt.preventDefault(); }
      else if (evt.key === "Home") select(0);
      else if (evt.key === "End") select(LAST);
      else if (evt.key === " ") { play(); evt.preventDefault(); }
      else if (evt.key === "c") { setClassMode(!state.classMode); render(); }
    });
    window.addEventListener("hashchange", function () {
      if (location.hash === lastAddress) return;
      readAddress(); render();
    });
    drawGradcheck();
    drawLoss();
    readAddress();
    render();
    document.body.setAttribute("data-ready", "1");
  }

  window.nnbackpropReport = { number: fmt, state: state };  // for the tests, and the curious
  setup();
})();
