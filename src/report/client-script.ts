/**
 * The browser side of the report: draws the charts with uPlot (inlined before it) from the JSON
 * in `#lethe-data` (the shape of `ChartData`). Plain ES2020 in a string because it runs in the
 * page, not in Node; the browser test loads it and fails on any console or page error. Names
 * reach the page only through uPlot (canvas text and legend textContent) and textContent here,
 * never innerHTML.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('lethe-data').textContent);
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
  var AXIS = { stroke: '#333', grid: { stroke: '#e4e4e4' }, ticks: { stroke: '#ccc' } };
  function width(el) { return Math.max(320, Math.min((el.clientWidth || 812) - 12, 960)); }
  function axis(extra) { return Object.assign({}, AXIS, extra); }
  function short(text, n) { return text.length > n ? text.slice(0, n - 1) + '…' : text; }
  // Whole steps only on a step axis.
  var STEP_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];
  function fmt(v, digits) { return v == null ? '–' : Number(v).toPrecision(digits || 3); }

  // Forget quality against model utility, one series per run (its own colour and legend
  // entry), points only, labelled with the run name where the label fits (see the labels below). FQ spans hundreds of decades, so the y axis
  // plots log10(FQ) on a linear scale with ticks at whole decades.
  function scatter(el, points) {
    var sorted = points.slice().sort(function (a, b) { return a.modelUtility - b.modelUtility; });
    var xs = sorted.map(function (p) { return p.modelUtility; });
    var logs = sorted.map(function (p) { return Math.log10(p.forgetQuality); });
    var lo = Math.floor(Math.min.apply(null, logs)), hi = Math.max(0, Math.ceil(Math.max.apply(null, logs)));
    if (lo === hi) lo -= 1;
    var every = Math.ceil((hi - lo) / 8), ticks = [];
    for (var e = hi; e >= lo - every + 1; e -= every) ticks.unshift(e);
    lo = ticks[0];
    var series = [{ label: 'model utility', value: function (u, v) { return fmt(v); } }];
    var columns = [xs];
    sorted.forEach(function (p, i) {
      columns.push(logs.map(function (l, j) { return j === i ? l : null; }));
      series.push({
        label: p.name, stroke: COLORS[i % COLORS.length], fill: COLORS[i % COLORS.length] + '99',
        paths: function () { return null; }, points: { show: true, size: 11, fill: COLORS[i % COLORS.length] },
        value: function (u, v) { return v == null ? '' : 'FQ ' + Math.pow(10, v).toExponential(1); },
      });
    });
    new uPlot({
      width: width(el), height: 380, series: series,
      scales: { x: { time: false, range: [0, 1] }, y: { range: [lo, hi] } },
      axes: [axis({ label: 'model utility (higher is better)' }),
             axis({ label: 'forget quality, log scale (higher is better)', size: 70,
                    splits: function () { return ticks; },
                    values: function (u, splits) { return splits.map(function (v) { return v === 0 ? '1' : '1e' + v; }); } })],
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [function (u) {
        var ctx = u.ctx;
        ctx.save();
        ctx.font = (12 * devicePixelRatio) + 'px sans-serif';
        ctx.fillStyle = '#222';
        ctx.textBaseline = 'middle';
        // Error bars: each point's 95% bootstrap intervals, forget quality vertical, utility horizontal.
        ctx.lineWidth = 1.5 * devicePixelRatio;
        sorted.forEach(function (p, i) {
          ctx.strokeStyle = COLORS[i % COLORS.length];
          var px = u.valToPos(p.modelUtility, 'x', true), py = u.valToPos(logs[i], 'y', true), cap = 4 * devicePixelRatio;
          ctx.beginPath();
          if (p.forgetQualityInterval) {
            var y0 = u.valToPos(Math.max(lo, Math.log10(p.forgetQualityInterval[0])), 'y', true);
            var y1 = u.valToPos(Math.min(hi, Math.log10(p.forgetQualityInterval[1])), 'y', true);
            ctx.moveTo(px, y0); ctx.lineTo(px, y1);
            ctx.moveTo(px - cap, y0); ctx.lineTo(px + cap, y0); ctx.moveTo(px - cap, y1); ctx.lineTo(px + cap, y1);
          }
          if (p.modelUtilityInterval) {
            var x0 = u.valToPos(p.modelUtilityInterval[0], 'x', true), x1 = u.valToPos(p.modelUtilityInterval[1], 'x', true);
            ctx.moveTo(x0, py); ctx.lineTo(x1, py);
            ctx.moveTo(x0, py - cap); ctx.lineTo(x0, py + cap); ctx.moveTo(x1, py - cap); ctx.lineTo(x1, py + cap);
          }
          ctx.stroke();
        });
        // Labels: runs at the same place (within 4 px) share one label ("3 runs", "target + 4 runs"); each label
        // goes right, left, above or below its point, wherever it covers no other label or point
        // and stays in the plot, else it is left out (the legend names every run, and the cursor
        // shows each one's values).
        var dpr = devicePixelRatio, lh = 14 * dpr, gap = 9 * dpr, near = 4 * dpr;
        var clusters = [];
        sorted.forEach(function (p, i) {
          var x = u.valToPos(p.modelUtility, 'x', true), y = u.valToPos(logs[i], 'y', true);
          var c = clusters.find(function (q) { return Math.abs(q.x - x) <= near && Math.abs(q.y - y) <= near; });
          if (c) c.runs.push(p); else clusters.push({ x: x, y: y, runs: [p] });
        });
        var taken = clusters.map(function (c) { return { x: c.x - 6 * dpr, y: c.y - 6 * dpr, w: 12 * dpr, h: 12 * dpr }; });
        var overlaps = function (a, b) { return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h; };
        var box = u.bbox, drawn = [];
        ctx.textAlign = 'left';
        ctx.textBaseline = 'middle';
        clusters.forEach(function (c) {
          // A reference (target, retain model) among them is named: "target + 4 runs".
          var refs = c.runs.filter(function (p) { return p.role === 'target' || p.role === 'retain'; }).map(function (p) { return short(p.name, 24); });
          var others = c.runs.length - refs.length;
          var text = c.runs.length === 1 ? short(c.runs[0].name, 40)
            : refs.concat(others > 0 ? [others + (others === 1 ? ' run' : ' runs')] : []).join(' + ');
          var w = ctx.measureText(text).width;
          var spots = [{ x: c.x + gap, y: c.y - lh / 2 }, { x: c.x - gap - w, y: c.y - lh / 2 }, { x: c.x - w / 2, y: c.y - gap - lh }, { x: c.x - w / 2, y: c.y + gap }];
          // Pulled inside the plot along the side it is on (a point on the axis keeps its label).
          var clamp = function (v, lo, hi) { return Math.max(lo, Math.min(hi, v)); };
          var spot = spots.map(function (s, k) {
            return k < 2 ? { x: s.x, y: clamp(s.y, box.top, box.top + box.height - lh), w: w, h: lh }
                         : { x: clamp(s.x, box.left, box.left + box.width - w), y: s.y, w: w, h: lh };
          }).find(function (r) {
            return r.x >= box.left && r.x + r.w <= box.left + box.width && r.y >= box.top && r.y + r.h <= box.top + box.height
              && !taken.some(function (t) { return overlaps(r, t); });
          });
          if (!spot) return;
          taken.push(spot);
          drawn.push({ text: text, x: spot.x / dpr, y: spot.y / dpr, w: spot.w / dpr, h: spot.h / dpr });
          ctx.fillText(text, spot.x, spot.y + lh / 2);
        });
        // The labels drawn (CSS px), for the browser test and for anyone inspecting the page.
        el.setAttribute('data-labels', JSON.stringify(drawn));
        ctx.restore();
      }] },
    }, columns, el);
  }

  function lines(el, title, steps, byName) {
    var names = Object.keys(byName);
    if (steps.length === 0 || names.length === 0) return;
    var series = [{ label: 'step' }].concat(names.map(function (name, i) {
      return { label: name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
               points: { show: steps.length < 60 }, value: function (u, v) { return fmt(v, 4); } };
    }));
    new uPlot({
      title: title, width: width(el), height: 260, series: series,
      scales: { x: { time: false } },
      axes: [axis({ label: 'step', incrs: STEP_INCRS }), axis({ size: 60 })],
    }, [steps].concat(names.map(function (n) { return byName[n]; })), el);
  }

  // Grouped bars: "before" left of each category, "after" right of it.
  function bars(el, attacks) {
    var n = attacks.labels.length;
    var xs = attacks.labels.map(function (_, i) { return i; });
    var bar = function (align) { return uPlot.paths.bars({ size: [0.35, 48], align: align }); };
    new uPlot({
      width: width(el), height: 320,
      series: [{ label: 'attack', value: function (u, v) { return v == null ? '' : attacks.labels[v] || ''; } },
               { label: 'forget Prob before', stroke: '#4a7bb7', fill: '#4a7bb7cc', paths: bar(-1), points: { show: false }, value: function (u, v) { return fmt(v); } },
               { label: 'forget Prob after', stroke: '#d0543c', fill: '#d0543ccc', paths: bar(1), points: { show: false }, value: function (u, v) { return fmt(v); } }],
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: [0, 1] } },
      axes: [axis({ splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (i) { return short(attacks.labels[i] || '', 30); }); },
                    rotate: n > 4 ? -25 : 0, size: n > 4 ? 110 : 40, grid: { show: false } }),
             axis({ label: 'forget Prob', size: 60 })],
      cursor: { drag: { x: false, y: false } },
    }, [xs, attacks.before, attacks.after], el);
  }

  var el = document.getElementById('chart-scatter');
  if (el && data.scatter.length > 0) scatter(el, data.scatter);
  data.curves.forEach(function (c, i) {
    var train = document.getElementById('chart-train-' + i);
    if (train) lines(train, 'training losses', c.train.step, c.train.series);
    var probes = document.getElementById('chart-eval-' + i);
    if (probes) lines(probes, 'evaluation probes', c.eval.step, c.eval.series);
  });
  el = document.getElementById('chart-attacks');
  if (el && data.attacks.labels.length > 0) bars(el, data.attacks);
})();
`;
