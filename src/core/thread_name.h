// Names the calling thread, as `top -H`, `perf` and /proc/<pid>/task/*/comm
// show it (paybench sums payd's CPU by these names). Linux keeps 15 bytes of
// a name; longer ones are cut. Failures are ignored: a name is only a label.
// The main thread keeps the process's name: its name is the one `ps` and
// `pgrep` show for the whole process.
#pragma once

#include <string_view>

namespace payd {

void name_this_thread(std::string_view name);

}  // namespace payd
