// A TCP port that is free on 127.0.0.1 right now, for test servers.
#pragma once

namespace payd::testing {

// Asks the kernel for one (bind to port 0). Throws std::runtime_error when
// it cannot. Another process may take it before the caller binds it.
int free_loopback_port();

}  // namespace payd::testing
