#include "tests/support/payd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/child_process.h"

namespace payd::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int poll_interval_ms = 10;
constexpr int verify_timeout_ms = 60'000;

// argv as the char* array execv wants; `storage` owns the strings.
std::vector<char*> make_argv(std::vector<std::string>& storage) {
  std::vector<char*> argv;
  argv.reserve(storage.size() + 1);
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

PaydProcess::PaydProcess(Options options) : options_(std::move(options)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "payd-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  root_dir_ = pattern;
  data_dir_ = root_dir_ + "/data";
  port_file_ = root_dir_ + "/port";
  log_file_ = root_dir_ + "/payd.log";
  std::filesystem::create_directory(data_dir_);
  try {
    start();
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(root_dir_, ignored);
    throw;
  }
}

PaydProcess::~PaydProcess() {
  kill9();
  std::error_code ignored;
  std::filesystem::remove_all(root_dir_, ignored);
}

void PaydProcess::start() {
  std::error_code ignored;
  std::filesystem::remove(port_file_, ignored);

  std::vector<std::string> args = {options_.payd_binary, "--listen",    "127.0.0.1", "--port",
                                   "0",                  "--port-file", port_file_,  "--data-dir",
                                   data_dir_};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  pid_ = spawn_child(args, log_file_);
  port_ = 0;

  auto deadline = Clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  while (true) {
    if (!running()) {
      throw std::runtime_error(options_.payd_binary + " exited with status " + std::to_string(last_exit_status_) +
                               " before writing its port (127: could not execute); log:\n" + log_tail());
    }
    std::string text = read_whole_file(port_file_);
    char* end = nullptr;
    long port = std::strtol(text.c_str(), &end, 10);
    if (!text.empty() && end != text.c_str() && port > 0 && port <= 65535) {
      port_ = static_cast<std::uint16_t>(port);
      return;
    }
    if (Clock::now() >= deadline) {
      kill9();
      throw std::runtime_error("payd did not write its port within " + std::to_string(options_.start_timeout_ms) +
                               " ms; log:\n" + log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
  }
}

void PaydProcess::reap(int status) {
  last_exit_status_ = status;
  pid_ = -1;
}

bool PaydProcess::running() {
  if (pid_ < 0) return false;
  int status = 0;
  pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == 0) return true;
  reap(reaped == pid_ ? decode_wait_status(status) : -1);
  return false;
}

void PaydProcess::kill9() {
  if (pid_ < 0) return;
  reap(kill9_child(pid_));
}

int PaydProcess::terminate(int wait_ms) {
  if (!running()) return last_exit_status_;
  ::kill(pid_, SIGTERM);
  std::optional<int> status = wait_for_exit(pid_, wait_ms);
  if (!status) {
    kill9();
    return -1;
  }
  reap(*status);
  return *status;
}

void PaydProcess::restart() {
  if (running()) terminate();
  start();
}

CommandResult PaydProcess::verify() {
  // payctl reads the ledger payd was given, or the one in its data folder.
  for (std::size_t i = 0; i + 1 < options_.extra_args.size(); ++i) {
    if (options_.extra_args[i] == "--ledger") {
      return run_command({options_.payctl_binary, "verify", "--ledger", options_.extra_args[i + 1]},
                         verify_timeout_ms);
    }
  }
  return run_command({options_.payctl_binary, "verify", "--data-dir", data_dir_}, verify_timeout_ms);
}

std::string PaydProcess::log_tail(std::size_t bytes) const {
  std::string log = read_whole_file(log_file_);
  if (log.size() > bytes) log = "..." + log.substr(log.size() - bytes);
  return log;
}

pid_t spawn_child(const std::vector<std::string>& command, const std::string& log_file) {
  pid_t pid = spawn_logged(command, log_file);
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  return pid;
}

int kill9_child(pid_t pid) { return kill_and_reap(pid); }

CommandResult run_command(const std::vector<std::string>& command, int timeout_ms) {
  std::vector<std::string> args = command;
  std::vector<char*> argv = make_argv(args);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe failed: ") + std::strerror(errno));
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    int null = ::open("/dev/null", O_RDONLY);
    if (null < 0) ::_exit(126);
    ::dup2(null, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    close_descriptors_above_stderr();
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);

  CommandResult result;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  while (true) {
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd readable{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&readable, 1, static_cast<int>(left_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);

  std::optional<int> status;
  if (!timed_out) {
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    status = wait_for_exit(pid, static_cast<int>(std::max<long long>(left_ms, 0)));
  }
  if (!status) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid, verify_timeout_ms);
    status = -1;
  }
  result.exit_code = *status;
  return result;
}

}  // namespace payd::testing
