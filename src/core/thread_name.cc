#include "core/thread_name.h"

#include <pthread.h>

#include <string>

namespace payd {

void name_this_thread(std::string_view name) {
  constexpr std::size_t kept_bytes_max = 15;  // the kernel's limit, without the terminating zero
  std::string kept(name.substr(0, kept_bytes_max));
  pthread_setname_np(pthread_self(), kept.c_str());
}

}  // namespace payd
