// Draws the KPI pages' charts with the vendored ECharts (static/vendor/echarts).
// Each chart is an element <div class="chart" data-chart="ID"> whose data the page
// writes with Django's json_script into <script type="application/json" id="ID">:
//   {type: "line"|"bar", title, categories: [...], series: [{name, data: [...]}],
//    unit: ""|"%"|"¥", stacked: bool, twoAxes: bool}
// No inline script on the page (a Content-Security-Policy will forbid it); the
// table under each chart holds the same figures for screen readers and exports.
(function () {
  "use strict";
  var drawn = [];

  function readData(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source) return null;
    try { return JSON.parse(source.textContent); } catch (e) { return null; }
  }

  function formatter(unit) {
    return function (value) {
      if (value === null || value === undefined || value === "-") return "—";
      if (unit === "¥") return "¥" + Number(value).toLocaleString();
      return Number(value).toLocaleString() + (unit || "");
    };
  }

  function option(data) {
    var many = data.categories.length > 12;
    var axes = data.twoAxes ? [{ type: "value" }, { type: "value", splitLine: { show: false } }]
                            : [{ type: "value", axisLabel: { formatter: formatter(data.unit) } }];
    return {
      animation: false,
      title: { text: data.title, left: 0, textStyle: { fontSize: 13, fontWeight: "normal" } },
      tooltip: { trigger: "axis", valueFormatter: formatter(data.unit) },
      legend: { show: data.series.length > 1, top: 0, right: 0 },
      grid: { left: 8, right: 8, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.categories, axisLabel: { rotate: many ? 45 : 0 } },
      yAxis: axes,
      series: data.series.map(function (s, i) {
        return {
          name: s.name,
          type: data.type === "line" ? "line" : "bar",
          data: s.data,
          stack: data.stacked ? "total" : undefined,
          yAxisIndex: data.twoAxes && i === 1 ? 1 : 0,
          symbolSize: 5,
        };
      }),
    };
  }

  function draw() {
    if (!window.echarts) return;  // the tables still hold every figure
    var elements = document.querySelectorAll(".chart[data-chart]");
    Array.prototype.forEach.call(elements, function (el) {
      var data = readData(el);
      if (!data || !data.categories.length) { el.classList.add("chart-empty"); return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option(data));
      el.classList.add("chart-drawn");
      drawn.push(chart);
    });
    window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
