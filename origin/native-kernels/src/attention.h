// Differential attention of one layer for a run of query rows of one sequence (the engine's
// forward/attention.ts, SPEC §2.5 steps 3–7), on the thread pool. The JS version stays the
// reference and the portable path; this one exists because attention is the part of a long
// prefill that grows with the square of the prompt: at 512 tokens the scalar JS loops took
// about as long as all the layer matmuls together.
#pragma once

#include <cstdint>

#include "matmul.h"

namespace motif {

struct Attention {
  float* z;           // output rows, row width heads·head_dim; row q_row + t is written
  const float* q;     // query rows (row stride q_stride; the heads·head_dim query values first)
  int64_t q_stride;
  int64_t q_row;      // first query row
  int64_t count;      // query rows
  int64_t start_pos;  // absolute position of the first query row; it attends to 0 … start_pos + t
  // The cache: position τ's key row is k_blocks[τ >> shift] + (τ & (2^shift − 1))·width.
  const float* const* k_blocks;
  const float* const* v_blocks;
  int shift;
  int64_t heads;  // physical heads (even: differential head h pairs 2h and 2h + 1)
  int64_t head_dim;
  float lambda;
  float lambda_init;
  const float* subln;  // RMSNorm gain over 2·head_dim channels
  float eps;
};

// Computes every (query row, differential head) pair, shared out over up to max_threads threads
// (0 = the whole pool); AVX2 where the CPU has it and max_simd allows it.
void attend(const Attention& a, int max_threads, Simd max_simd);

}  // namespace motif
