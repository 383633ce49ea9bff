// Child processes: the payd that `--spawn` starts for a run, and payctl.
//
// PaydChild owns a fresh temporary directory (mkdtemp) with the data
// directory, the port file and payd's log; payd is started on 127.0.0.1,
// port 0, with the caller's extra flags, and start() returns once it has
// written its port (bounded wait). The child gets SIGKILL if paybench dies
// (PR_SET_PDEATHSIG) and in the destructor if still running, so a failed
// run leaves no server behind. Not thread-safe; start it from the main
// thread (the death signal follows the thread that forked).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/paybench/expected.h"

namespace payd::bench {

class PaydChild {
 public:
  // Starts `payd_path --listen 127.0.0.1 --port 0 --port-file F --data-dir D
  // extra_args...`. Fails when it exits or writes no port within
  // start_timeout_ms (with the tail of its log).
  static Expected<std::unique_ptr<PaydChild>> start(const std::string& payd_path,
                                                    const std::vector<std::string>& extra_args, int start_timeout_ms);
  ~PaydChild();
  PaydChild(const PaydChild&) = delete;
  PaydChild& operator=(const PaydChild&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }

  // The child's peak resident set (VmHWM of /proc/<pid>/status) in KiB, or
  // nullopt when it has exited or the field cannot be read.
  std::optional<std::int64_t> peak_rss_kib() const;

  // SIGTERM, then waits up to wait_ms. The exit status (128 + signal when a
  // signal ended it), or -1 when it had to be killed with SIGKILL.
  int stop(int wait_ms);

  // Leave the temporary directory in place (to inspect a failed run).
  void keep_files() { keep_files_ = true; }
  const std::string& root_dir() const { return root_dir_; }

  // The last `bytes` of payd's log.
  std::string log_tail(std::size_t bytes) const;

 private:
  PaydChild() = default;
  Outcome launch(const std::string& payd_path, const std::vector<std::string>& extra_args, int start_timeout_ms);

  std::string root_dir_;
  std::string data_dir_;
  std::string port_file_;
  std::string log_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool keep_files_ = false;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal when a signal ended it; -1 when it did not finish in time or start
  std::string output;  // stdout and stderr, interleaved (the last 64 KiB)
};

// Runs argv (argv[0] a path) with its output captured, killing it after timeout_ms.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms);

}  // namespace payd::bench
