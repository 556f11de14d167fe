// SVG heatmaps and line charts (see svg.h).
#include "io/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace duo::io {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

double text_width_estimate(const std::string& s, double font_px) {
  int64_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // count UTF-8 lead bytes only
  return 0.62 * font_px * static_cast<double>(chars);
}

std::string colour_scale(double t) {
  t = std::min(1.0, std::max(0.0, t));
  // red (#d7301f) -> yellow (#fee08b) -> green (#1a9850)
  const double r0 = 215, g0 = 48, b0 = 31, r1 = 254, g1 = 224, b1 = 139, r2 = 26, g2 = 152, b2 = 80;
  double r, g, b;
  if (t < 0.5) {
    double u = t / 0.5;
    r = r0 + (r1 - r0) * u, g = g0 + (g1 - g0) * u, b = b0 + (b1 - b0) * u;
  } else {
    double u = (t - 0.5) / 0.5;
    r = r1 + (r2 - r1) * u, g = g1 + (g2 - g1) * u, b = b1 + (b2 - b1) * u;
  }
  return fmt::format("#{:02x}{:02x}{:02x}", static_cast<int>(r + 0.5), static_cast<int>(g + 0.5),
                     static_cast<int>(b + 0.5));
}

std::string render_heatmap_svg(const Heatmap& h) {
  const size_t rows = h.row_labels.size(), cols = h.col_labels.size();
  DUO_CHECK(h.values.size() == rows * cols, "heatmap '{}': expected {} x {} = {} values; got {}", h.title, rows, cols,
            rows * cols, h.values.size());
  const int cell_w = cols > 24 ? 28 : 48, cell_h = rows > 24 ? 18 : 28;
  const int left = 110, top = 50, legend_w = 70;
  const int width = left + static_cast<int>(cols) * cell_w + legend_w + 20;
  const int height = top + static_cast<int>(rows) * cell_h + 60;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n", width / 2,
                   xml_escape(h.title));
  const double span = h.vmax > h.vmin ? h.vmax - h.vmin : 1.0;
  for (size_t r = 0; r < rows; ++r) {
    const int y = top + static_cast<int>(r) * cell_h;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\n", left - 6,
                     y + cell_h / 2, xml_escape(h.row_labels[r]));
    for (size_t c = 0; c < cols; ++c) {
      const int x = left + static_cast<int>(c) * cell_w;
      const double v = h.values[r * cols + c];
      const std::string fill = std::isnan(v) ? "#cccccc" : colour_scale((v - h.vmin) / span);
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"white\"><title>{} {}, {} {}: {}</title></rect>\n",
                       x, y, cell_w, cell_h, fill, xml_escape(h.y_label), xml_escape(h.row_labels[r]),
                       xml_escape(h.x_label), xml_escape(h.col_labels[c]), std::isnan(v) ? "n/a" : fmt::format("{:.4f}", v));
      if (h.annotate && !std::isnan(v) && cell_w >= 28) {
        s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"middle\" font-size=\"{}\">{:.{}f}</text>\n",
                         x + cell_w / 2, y + cell_h / 2, cell_w >= 48 ? 10 : 8, v, h.value_decimals);
      }
    }
  }
  const int grid_bottom = top + static_cast<int>(rows) * cell_h;
  for (size_t c = 0; c < cols; ++c) {
    const int x = left + static_cast<int>(c) * cell_w + cell_w / 2;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, grid_bottom + 14,
                     xml_escape(h.col_labels[c]));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   left + static_cast<int>(cols) * cell_w / 2, grid_bottom + 34, xml_escape(h.x_label));
  s += fmt::format("<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\n",
                   top + static_cast<int>(rows) * cell_h / 2, top + static_cast<int>(rows) * cell_h / 2,
                   xml_escape(h.y_label));
  // legend: a vertical bar from vmax (top) to vmin (bottom)
  const int lx = left + static_cast<int>(cols) * cell_w + 20, lh = std::max(60, static_cast<int>(rows) * cell_h);
  for (int i = 0; i < 20; ++i) {
    const double t = 1.0 - (i + 0.5) / 20.0;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{:.2f}\" fill=\"{}\"/>\n", lx,
                     top + i * lh / 20.0, lh / 20.0 + 0.5, colour_scale(t));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\">{:.3g}</text>\n", lx + 18, top + 8, h.vmax);
  s += fmt::format("<text x=\"{}\" y=\"{}\">{:.3g}</text>\n", lx + 18, top + lh, h.vmin);
  s += "</svg>\n";
  return s;
}

std::string render_line_chart_svg(const LineChart& c) {
  static const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                         "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  constexpr int kNColours = 8;
  // The plot keeps 420 x 300 px; the legend column (swatch 12 px + gap 6 px + text) and the
  // title decide the rest of the width.
  const int left = 70, top = 40, bottom = 60, pw = 420, ph = 300;
  double legend_w = 0.0;
  for (const auto& ser : c.series) legend_w = std::max(legend_w, text_width_estimate(ser.name, 11));
  const int right = 30 + static_cast<int>(std::ceil(legend_w)) + 12;
  const int title_w = static_cast<int>(std::ceil(text_width_estimate(c.title, 15))) + 20;
  const int width = std::max(left + pw + right, title_w), height = top + ph + bottom;
  double x_min = INFINITY, x_max = -INFINITY;
  for (auto& s : c.series)
    for (double x : s.x) x_min = std::min(x_min, x), x_max = std::max(x_max, x);
  if (!(x_max > x_min)) x_min = std::isfinite(x_min) ? x_min - 1 : 0, x_max = x_min + 2;
  const double y_span = c.y_max > c.y_min ? c.y_max - c.y_min : 1.0;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * pw; };
  auto py = [&](double y) { return top + ph - (y - c.y_min) / y_span * ph; };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n", width / 2,
                   xml_escape(c.title));
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", left, top,
                   pw, ph);
  for (int i = 0; i <= 5; ++i) {
    const double yv = c.y_min + y_span * i / 5.0, xv = x_min + (x_max - x_min) * i / 5.0;
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, left + pw,
                     py(yv), py(yv));
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" dominant-baseline=\"middle\">{:.3g}</text>\n",
                     left - 6, py(yv), yv);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.3g}</text>\n", px(xv), top + ph + 16, xv);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2, height - 18,
                   xml_escape(c.x_label));
  s += fmt::format("<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">{}</text>\n",
                   top + ph / 2, top + ph / 2, xml_escape(c.y_label));
  for (size_t i = 0; i < c.series.size(); ++i) {
    const auto& ser = c.series[i];
    const char* colour = kColours[i % kNColours];
    std::string pts;
    for (size_t k = 0; k < ser.x.size() && k < ser.y.size(); ++k) {
      pts += fmt::format("{:.1f},{:.1f} ", px(ser.x[k]), py(ser.y[k]));
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}: ({:.4g}, {:.4g})</title></circle>\n",
                       px(ser.x[k]), py(ser.y[k]), colour, xml_escape(ser.name), ser.x[k], ser.y[k]);
    }
    s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", pts, colour);
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", left + pw + 12,
                     top + 6 + static_cast<int>(i) * 18, colour);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", left + pw + 30, top + 16 + static_cast<int>(i) * 18,
                     xml_escape(ser.name));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace duo::io
