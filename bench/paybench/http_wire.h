// paybench's HTTP/1.1 on the wire, without I/O: a request written as one
// buffer, and an answer read from the bytes received so far.
//
// The client sends one request at a time per connection and reads one
// answer, so the reader needs only what paybench acts on: the status, the
// body (by Content-Length), whether the connection stays open, and
// Idempotent-Replayed. payd always sends Content-Length; an answer that
// is chunked, or has a body and no length, is refused as a transport error
// rather than guessed at. These few hundred bytes a request, with no
// per-field allocation, keep the load generator's share of the machine
// small: it runs on the same cores as the server it measures.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace payd::bench {

struct HttpRequest;

// Appends `request` to `out` as an HTTP/1.1 request for 127.0.0.1, with
// Content-Type and Content-Length when it has a body.
void write_request(const HttpRequest& request, std::string& out);

struct WireResponse {
  enum class State { incomplete, complete, invalid };
  State state = State::incomplete;
  std::size_t length = 0;  // complete: bytes of the whole answer, head and body
  unsigned status = 0;
  bool keep_alive = true;
  bool replayed = false;   // Idempotent-Replayed: true
  std::string_view body;   // complete: into the parsed bytes
  std::string error;       // invalid: why
};

// Reads the answer at the start of `received`. incomplete: more bytes are
// needed (nothing is wrong yet); complete: the first `length` bytes are
// the answer; invalid: the bytes are not an answer paybench can read, or
// its body is longer than `body_bytes_max`.
WireResponse read_response(std::string_view received, std::size_t body_bytes_max);

}  // namespace payd::bench
