// PaydProcess: a real `payd` child process for end-to-end tests.
//
// Each instance owns a fresh temporary directory (mkdtemp) holding the data
// directory, the port file and the child's log. payd is started with
// `--listen 127.0.0.1 --port 0 --port-file ... --data-dir ...` plus the
// caller's extra arguments, and the constructor returns once payd has
// written its port (bounded wait). The child is killed when the test
// process dies (PR_SET_PDEATHSIG) and always in the destructor, so a failing
// test never leaves a server behind.
//
// Not thread-safe: drive one instance from one thread. The child is bound to
// the thread that started it (the death signal follows that thread), so
// start and restart it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace payd::testing {

struct CommandResult {
  int exit_code = -1;  // the exit status; 128 + signal when killed; -1 when it did not finish in time
  std::string output;  // stdout and stderr, interleaved
};

class PaydProcess {
 public:
  struct Options {
    std::string payd_binary;
    std::string payctl_binary;
    std::vector<std::string> extra_args;  // after the listen/port/data flags
    int start_timeout_ms = 15'000;        // until the port file appears
  };

  // Starts payd. Throws std::runtime_error (with the tail of payd's log) when
  // it exits or does not write its port within start_timeout_ms.
  explicit PaydProcess(Options options);
  // Kills payd (SIGKILL) if it runs and removes the temporary directory.
  ~PaydProcess();
  PaydProcess(const PaydProcess&) = delete;
  PaydProcess& operator=(const PaydProcess&) = delete;

  // The port of the current run.
  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }

  // True while the child has not exited (reaps it when it has).
  bool running();

  // SIGKILL, then reaps the child. No-op when it is not running.
  void kill9();

  // SIGTERM and waits up to `wait_ms` for the exit. Returns the exit status
  // (128 + signal when a signal ended it); -1 when it did not exit in time,
  // in which case it has been killed with SIGKILL.
  int terminate(int wait_ms = 10'000);

  // Starts payd again on the same data directory (stopping it first with
  // terminate() if it runs). The port changes. Throws like the constructor.
  void restart();

  // Runs `payctl verify --data-dir DIR` (bounded at 60 s).
  CommandResult verify();

  // The last `bytes` of payd's stdout and stderr (all runs), for failure messages.
  std::string log_tail(std::size_t bytes = 4000) const;

 private:
  void start();
  void reap(int status);

  Options options_;
  std::string root_dir_;
  std::string data_dir_;
  std::string port_file_;
  std::string log_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int last_exit_status_ = -1;
};

// Starts `argv` (argv[0] is a path) with stdin from /dev/null and stdout and
// stderr appended to `log_file`, no descriptor of ours inherited. The child
// is killed when the calling thread ends (PR_SET_PDEATHSIG), so start
// children from the test's main thread. Returns its pid.
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_file);

// SIGKILL, then reaps the child. Returns its decoded exit status (128 + 9).
int kill9_child(pid_t pid);

// Runs `argv` (argv[0] is a path) with stdout and stderr captured, killing it
// after `timeout_ms`.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms);

}  // namespace payd::testing
