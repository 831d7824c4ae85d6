// The GEMMs' (matmul-gemm-*.cc) look-ahead: while the tiles multiply one packed panel, the W lines
// of the panel the slice packs next are asked for a few per tile iteration, so the next pack
// reads them from cache instead of stalling on memory. At 8–16 rows (decode batches) a panel's
// multiply-adds take about as long as reading its 16 KiB from memory; without the look-ahead the
// two add up instead of overlapping.
#pragma once

#include <cstdint>

#include "matmul.h"

namespace motif {

class PanelPrefetch {
 public:
  PanelPrefetch() = default;

  // The W rows [o, o + rows) × K [k0, k0 + n) of m, spread over `steps` calls of step().
  PanelPrefetch(const Matmul& m, int64_t o, int64_t rows, int64_t k0, int64_t n, int64_t steps) {
    const int64_t elem = m.wtype == WeightType::F32 ? 4 : 2;  // never Q8_0: it has no GEMM
    base_ = static_cast<const char*>(m.w) + (o * m.in + k0) * elem;
    ld_ = m.in * elem;
    // One line more than the bytes need: the chunk need not start on a line.
    lines_per_row_ = (n * elem + 63) / 64 + 1;
    rows_ = rows;
    const int64_t total = rows * lines_per_row_;
    per_step_ = steps > 0 ? (total + steps - 1) / steps : total;
  }

  // Ask for the next share of lines (nothing once all were asked for). Row and line advance as
  // counters: this runs in the tiles' inner loop, where a division per line would cost more than
  // the hint.
  inline void step() {
    for (int64_t i = 0; i < per_step_ && row_ < rows_; ++i) {
      // Locality 2: into L2 and below, where the next pack finds it.
      __builtin_prefetch(base_ + row_ * ld_ + line_ * 64, 0, 2);
      if (++line_ == lines_per_row_) {
        line_ = 0;
        ++row_;
      }
    }
  }

 private:
  const char* base_ = nullptr;
  int64_t ld_ = 0, lines_per_row_ = 0, rows_ = 0, per_step_ = 0, row_ = 0, line_ = 0;
};

// The panel after (o, k0) in a slice's order (panels of `width` outputs within a K chunk of `kc`,
// chunk after chunk), to prefetch over `steps` steps; an exhausted one after the last panel.
inline PanelPrefetch next_panel(const Matmul& m, int64_t o_begin, int64_t o_end, int64_t o, int64_t k0, int64_t kc,
                                int64_t width, int64_t steps) {
  int64_t no = o + width, nk = k0;
  if (no >= o_end) {
    no = o_begin;
    nk = k0 + kc;
  }
  if (nk >= m.in) return PanelPrefetch();
  const int64_t rows = o_end - no < width ? o_end - no : width;
  const int64_t n = m.in - nk < kc ? m.in - nk : kc;
  return PanelPrefetch(m, no, rows, nk, n, steps);
}

}  // namespace motif
