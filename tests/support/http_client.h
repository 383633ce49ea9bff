// HttpClient: a tiny blocking HTTP/1.1 client for payd's tests.
//
// Plain POSIX sockets, no Asio or Beast, so that every test that talks to a
// server compiles fast. It keeps one keep-alive connection and reconnects
// when the server has closed it between requests. It is deliberately lax
// about the HTTP it accepts and strict about what it reports: a response
// that is cut short is an exception, never a partial result.
//
// Not thread-safe: use one client per thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace payd::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeated fields joined with ", "
  std::string body;

  // The value of a header by its lower-case name; "" when absent.
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  // Connects lazily, on the first request, to `host` (an IPv4 or IPv6
  // literal or a name) and `port`.
  explicit HttpClient(std::uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its response. Adds Host and Content-Length
  // and, when `body` is not empty and `headers` holds no Content-Type,
  // `Content-Type: application/json`. Closes the connection afterwards when
  // the response says `Connection: close`.
  // Throws std::runtime_error when the connection fails, times out, or the
  // server closes it before a full response.
  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

  // Writes `bytes` as they are (connecting first if needed) and reads one
  // response: for malformed or partial requests. When the server stops
  // reading and answers early (413, 431), the answer is still returned.
  // Throws std::runtime_error like request().
  HttpResponse send_raw(const std::string& bytes);

  // Reads one more response from the connection, e.g. the second answer to
  // two pipelined requests written with send_raw. Throws like request().
  HttpResponse read_response();

  // Waits up to `wait_ms` for the server to close the connection. True when
  // it did (or there is no connection); false when it is still open.
  // Unread response bytes count as "still open".
  bool wait_closed_by_server(int wait_ms);

  // Receive and send timeout of every later call, default 10000.
  void set_timeout_ms(int timeout_ms);

  // Closes the connection; the next request opens a new one.
  void close();

 private:
  void ensure_connected();
  void connect_now();
  bool closed_by_peer_without_waiting();
  // Writes everything; false when the peer reset or closed the connection.
  bool write_all(const std::string& bytes);
  // Appends what the socket has to read_buffer_; false on end of stream.
  bool fill();
  std::string read_line();
  void read_body(HttpResponse& response, bool head_request);
  void read_chunked_body(HttpResponse& response);
  HttpResponse read_response_for(bool head_request);

  std::string host_;
  std::uint16_t port_;
  int socket_ = -1;
  int timeout_ms_ = 10000;
  std::string read_buffer_;  // bytes received and not yet parsed
};

}  // namespace payd::testing
