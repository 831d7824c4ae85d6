// SHA-256 of many independent messages at once (the leaves of a weights part, sync's hot path).
#pragma once

#include <cstddef>
#include <cstdint>

namespace motif {

// True when this CPU has the SHA extensions (SHA-NI) that sha256_batch uses.
bool cpu_has_sha_ni();

// Hash `n` whole messages: out[32*i..] = SHA-256(data[i][0..len[i])). Needs cpu_has_sha_ni();
// messages run up to four abreast, because one SHA-NI stream is bound by the round
// instruction's latency while the unit could start a new round every cycle or two.
void sha256_batch(const uint8_t* const* data, const size_t* len, size_t n, uint8_t* out);

}  // namespace motif
