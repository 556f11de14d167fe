// Validation of the scorer options (see score_options.h).
#include "score/score_options.h"

#include "core/error.h"

namespace duo::score {

void check_score_options(const ScoreOptions& o) {
  DUO_CHECK(o.method == "retrieval" || o.method == "razor" || o.method == "attention-mass",
            "score: key 'method' (--method) must be {}; got '{}'", kScoreMethods, o.method);
  DUO_CHECK(o.block >= 1, "score: key 'block' must be >= 1 (tile size in tokens); got {}", o.block);
  if (o.method == "razor") {
    const auto& r = o.razor;
    DUO_CHECK(r.length >= 2, "score: key 'razor.length' must be >= 2 tokens; got {}", r.length);
    DUO_CHECK(r.copies >= 2, "score: key 'razor.copies' must be >= 2 (echo and induction need a repeat); got {}",
              r.copies);
    DUO_CHECK(r.sequences >= 1, "score: key 'razor.sequences' must be >= 1; got {}", r.sequences);
    DUO_CHECK(r.echo_share >= 0.0 && r.echo_share <= 1.0 && r.induction_share >= 0.0 && r.induction_share <= 1.0 &&
                  r.echo_share + r.induction_share > 0.0,
              "score: keys 'razor.echo_share' and 'razor.induction_share' must be fractions in [0, 1], not both 0; "
              "got {} and {}", r.echo_share, r.induction_share);
  } else {
    eval::check_niah_options(o.prompts);
  }
}

}  // namespace duo::score
