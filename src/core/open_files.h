// The process's limit on open descriptors. Each connection is one; the
// soft limit is often 1,024 while the hard limit allows far more, so a
// server or a load generator with many connections raises it first.
#pragma once

#include <cstdint>

namespace payd {

// Raises the soft limit on open descriptors to the hard limit. Returns the
// soft limit now in force.
std::uint64_t raise_open_files_limit();

}  // namespace payd
