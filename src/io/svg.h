// Small self-contained SVG charts (no other tools needed to read them): a heatmap for gates and
// needle-in-a-haystack grids, a line chart for sparsity sweeps. Colours run from red (low)
// through yellow to green (high), as the official NIAH plots do.
#pragma once

#include <string>
#include <vector>

namespace duo::io {

struct Heatmap {
  std::string title;
  std::string x_label;                  // under the columns
  std::string y_label;                  // beside the rows
  std::vector<std::string> col_labels;  // [cols]
  std::vector<std::string> row_labels;  // [rows]
  std::vector<double> values;           // [rows * cols], row-major; NaN = no value (grey)
  double vmin = 0.0;
  double vmax = 1.0;
  bool annotate = true;                 // print each value in its cell
  int value_decimals = 2;
};
std::string render_heatmap_svg(const Heatmap& h);

struct LineSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};
// Every label fits inside the picture: the canvas widens to the longest legend entry and the
// title (text_width_estimate), and the root element carries a viewBox of its size.
struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<LineSeries> series;
  double y_min = 0.0;
  double y_max = 1.0;
};
std::string render_line_chart_svg(const LineChart& c);

// An upper estimate of the width in pixels of `s` set in sans-serif at `font_px`: 0.62 em per
// character (UTF-8 code points; wide capitals such as 'M' and 'W' run to about 0.85 em, digits and
// lower case letters to about 0.55 em, so mixed labels stay below this). Charts size their
// canvas with it so that every label fits inside the picture.
double text_width_estimate(const std::string& s, double font_px);

// red -> yellow -> green for t in [0, 1], as "#rrggbb".
std::string colour_scale(double t);
// Escapes &, <, >, " for SVG text.
std::string xml_escape(const std::string& s);

}  // namespace duo::io
