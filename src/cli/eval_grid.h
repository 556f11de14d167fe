// Resolving the options of the run commands that embed the NIAH / passkey grid (niah, sweep; the
// grid's keys sit at the top level of theirs, so configs/eval/*.yaml load as they are). The
// grid's defaults depend on its kind (eval::niah_defaults), so the kind is resolved first, then
// every option again from that kind's defaults.
#pragma once

#include <optional>
#include <string>

#include "cli/run_options.h"
#include "eval/niah.h"

namespace duo::cli {

// `grid(T&)` returns the grid inside T. `kind`, when given, is a flag's choice and wins over the
// YAML and --set.
template <class T, class Grid>
T resolve_with_eval_grid(const OptionSurface<T>& surface, Grid grid,
                         const std::optional<std::string>& kind = std::nullopt) {
  T first = surface.resolve();  // only to learn the kind
  T start;
  grid(start) = eval::niah_defaults(kind ? *kind : grid(first).kind);
  T o = surface.resolve(start);
  if (kind) grid(o).kind = *kind;
  eval::finish_niah_options(grid(o));
  return o;
}

}  // namespace duo::cli
