// The memory-bandwidth roofline probe: how fast this process can stream a large buffer from DRAM.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace motif {

// Reads a `bytes`-sized buffer (rounded up to 4 KiB) `runs` times with up to `threads` threads
// of the shared pool, which pull 16 MiB chunks from a shared counter, and appends one GB/s figure
// (1e9 bytes/s) per run. The buffer is written first so every page is really mapped (untouched
// pages would all alias the kernel's zero page and read from cache). Returns false and sets
// `error` if the buffer cannot be allocated.
bool measure_read_bandwidth(size_t bytes, int threads, int runs, std::vector<double>& gbps,
                            std::string& error);

}  // namespace motif
