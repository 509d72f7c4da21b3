// Draws the Analytics charts from the data each canvas names (a json_script tag beside it).
// The numbers are also in the table beside every chart, so a failure here loses no data.
(function () {
  "use strict";
  var COLORS = ["#4f46e5", "#0d9488", "#d97706", "#db2777", "#2563eb", "#65a30d"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof window.Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (set, n) {
      return {
        label: set.label, data: set.data, borderColor: COLORS[n % COLORS.length],
        backgroundColor: COLORS[n % COLORS.length], spanGaps: true, tension: 0.2,
        pointRadius: spec.labels.length > 60 ? 0 : 2, yAxisID: set.label === "Views" ? "views" : "y"
      };
    });
    var scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    if (datasets.some(function (set) { return set.yAxisID === "views"; })) {
      scales.views = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } };
    }
    new window.Chart(canvas, {
      type: spec.kind, data: { labels: spec.labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: scales,
                 plugins: { legend: { display: datasets.length > 1 } } }
    });
    canvas.dataset.drawn = "true";
  }

  function start() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
