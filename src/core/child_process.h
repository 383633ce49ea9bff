// Child processes: start a program with its output in a file, wait for
// it, kill it. For the tools that drive payd and its databases from outside
// (the test harness, paybench); payd itself starts no process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace payd {

// Starts `argv` (argv[0] is a path) with stdin from /dev/null and stdout and
// stderr appended to `output_path`. The child inherits no descriptor above
// stderr (no client socket of ours stays open in it) and is killed when the
// calling thread ends (PR_SET_PDEATHSIG). Its pid, or -1 when fork failed
// (errno says why).
pid_t spawn_logged(std::vector<std::string> argv, const std::string& output_path);

// In a freshly forked child: closes every descriptor above stderr.
void close_descriptors_above_stderr();

// waitpid's status as an exit code: the code, 128 + the signal, or -1.
int decode_wait_status(int status);

// Waits up to `wait_ms` for `pid` to exit: its decoded status (-1 when it is
// not a child of ours), or nullopt when it still runs.
std::optional<int> wait_for_exit(pid_t pid, int wait_ms);

// SIGKILL, then reaps the child: its decoded status (128 + 9), or -1.
int kill_and_reap(pid_t pid);

// The whole file, or "" when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace payd
