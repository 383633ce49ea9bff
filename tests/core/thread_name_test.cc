#include "core/thread_name.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

namespace payd {
namespace {

// The name the kernel shows for the calling thread.
std::string shown_name() {
  std::ifstream comm("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

TEST(ThreadName, TheKernelShowsTheNameCutTo15Bytes) {
  std::string short_name;
  std::string long_name;
  std::thread([&] {
    name_this_thread("ledger-writer");
    short_name = shown_name();
    name_this_thread("a-name-longer-than-fifteen");
    long_name = shown_name();
  }).join();
  EXPECT_EQ(short_name, "ledger-writer");
  EXPECT_EQ(long_name, "a-name-longer-t");
}

}  // namespace
}  // namespace payd
