#include "bench/paybench/process.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/child_process.h"

namespace payd::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto poll_interval = std::chrono::milliseconds(10);
constexpr std::size_t command_output_bytes_max = 64 * 1024;

std::string last_bytes(std::string text, std::size_t bytes) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

}  // namespace

Expected<std::unique_ptr<PaydChild>> PaydChild::start(const std::string& payd_path,
                                                      const std::vector<std::string>& extra_args,
                                                      int start_timeout_ms) {
  std::unique_ptr<PaydChild> child(new PaydChild());
  std::string pattern = (std::filesystem::temp_directory_path() / "paybench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Failure{std::string("mkdtemp: ") + std::strerror(errno)};
  child->root_dir_ = pattern;
  child->data_dir_ = pattern + "/data";
  child->port_file_ = pattern + "/port";
  child->log_file_ = pattern + "/payd.log";
  std::error_code error;
  std::filesystem::create_directory(child->data_dir_, error);
  if (error) return Failure{"create " + child->data_dir_ + ": " + error.message()};
  Outcome launched = child->launch(payd_path, extra_args, start_timeout_ms);
  if (!launched.ok()) return Failure{launched.message()};
  return child;
}

Outcome PaydChild::launch(const std::string& payd_path, const std::vector<std::string>& extra_args,
                          int start_timeout_ms) {
  std::vector<std::string> argv = {payd_path,     "--listen", "127.0.0.1",  "--port", "0",
                                   "--port-file", port_file_, "--data-dir", data_dir_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn_logged(std::move(argv), log_file_);
  if (pid_ < 0) return Failure{std::string("fork: ") + std::strerror(errno)};
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(start_timeout_ms);
  while (true) {
    if (std::optional<int> status = wait_for_exit(pid_, 0)) {
      pid_ = -1;
      return Failure{payd_path + " exited with status " + std::to_string(*status) +
                     " before listening (127: could not run it); its log:\n" + log_tail(4000)};
    }
    std::string text = read_whole_file(port_file_);
    long port = std::strtol(text.c_str(), nullptr, 10);
    if (port > 0 && port <= 65535) {
      port_ = static_cast<std::uint16_t>(port);
      return Done{};
    }
    if (SteadyClock::now() >= deadline) {
      return Failure{"payd wrote no port within " + std::to_string(start_timeout_ms) + " ms; its log:\n" +
                     log_tail(4000)};
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

PaydChild::~PaydChild() {
  if (pid_ > 0) kill_and_reap(pid_);
  std::error_code ignored;
  if (!keep_files_ && !root_dir_.empty()) std::filesystem::remove_all(root_dir_, ignored);
}

std::optional<std::int64_t> PaydChild::peak_rss_kib() const {
  if (pid_ <= 0) return std::nullopt;
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    return std::strtoll(line.c_str() + 6, nullptr, 10);  // "VmHWM:   12345 kB"
  }
  return std::nullopt;
}

int PaydChild::stop(int wait_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  std::optional<int> status = wait_for_exit(pid_, wait_ms);
  if (!status) kill_and_reap(pid_);
  pid_ = -1;
  return status.value_or(-1);
}

std::string PaydChild::log_tail(std::size_t bytes) const { return last_bytes(read_whole_file(log_file_), bytes); }

CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms) {
  CommandResult result;
  std::string pattern = (std::filesystem::temp_directory_path() / "paybench-command-XXXXXX").string();
  int file = ::mkstemp(pattern.data());
  if (file < 0) {
    result.output = std::string("mkstemp: ") + std::strerror(errno);
    return result;
  }
  ::close(file);
  pid_t pid = spawn_logged(argv, pattern);
  if (pid < 0) {
    result.output = std::string("fork: ") + std::strerror(errno);
  } else if (std::optional<int> status = wait_for_exit(pid, timeout_ms)) {
    result.exit_code = *status;
  } else {
    kill_and_reap(pid);
  }
  result.output =
      result.output.empty() ? last_bytes(read_whole_file(pattern), command_output_bytes_max) : result.output;
  std::filesystem::remove(pattern);
  return result;
}

}  // namespace payd::bench
