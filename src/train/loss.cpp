// Distillation and L1 losses (see loss.h).
#include "train/loss.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace duo::train {
namespace {

// fp32, or fp64 when the inputs are fp64 (tests check gradients in double precision).
at::ScalarType loss_dtype(const at::Tensor& t) { return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

}  // namespace

at::Tensor distill_loss_rows(const at::Tensor& h_full_rows, const at::Tensor& h_gated_rows) {
  DUO_CHECK(h_full_rows.sizes() == h_gated_rows.sizes(), "distill loss: hidden states differ in shape; got {} and {}",
            h_full_rows.sizes(), h_gated_rows.sizes());
  DUO_CHECK(h_full_rows.dim() == 2 && h_full_rows.size(0) > 0,
            "distill loss: expected [labels, hidden] with at least one label; got {}", h_full_rows.sizes());
  const auto dt = loss_dtype(h_gated_rows);
  auto diff = h_full_rows.to(dt) - h_gated_rows.to(dt);
  return diff.pow(2).mean(-1).sum() / static_cast<double>(h_full_rows.size(0));
}

at::Tensor distill_loss(const at::Tensor& h_full, const at::Tensor& h_gated, const at::Tensor& label_mask) {
  DUO_CHECK(label_mask.dim() == 1 && label_mask.size(0) == h_full.size(0),
            "distill loss: label mask must be [T] = [{}]; got {}", h_full.size(0), label_mask.sizes());
  auto idx = label_mask.to(at::kBool).nonzero().squeeze(1);
  DUO_CHECK(idx.numel() > 0, "distill loss: the sample has no label tokens; expected at least one");
  return distill_loss_rows(h_full.index_select(0, idx), h_gated.index_select(0, idx));
}

at::Tensor reg_loss(const at::Tensor& alpha) { return alpha.to(loss_dtype(alpha)).abs().mean(); }

}  // namespace duo::train
