#include "tests/support/http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace payd::testing {
namespace {

constexpr std::size_t read_chunk_bytes = 16 * 1024;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

bool has_header(const std::vector<std::pair<std::string, std::string>>& headers, const std::string& lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return lower(header.first) == lower_name; });
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("http client: " + what); }

[[noreturn]] void fail_errno(const std::string& what) {
  int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK) fail(what + ": timed out");
  fail(what + ": " + std::strerror(error));
}

// True when the response to this request must close the connection.
bool closes_connection(const std::string& version, const HttpResponse& response) {
  std::string connection = lower(response.header("connection"));
  if (connection.find("close") != std::string::npos) return true;
  return version == "HTTP/1.0" && connection.find("keep-alive") == std::string::npos;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto found = headers.find(lower_name);
  return found == headers.end() ? std::string() : found->second;
}

HttpClient::HttpClient(std::uint16_t port, std::string host) : host_(std::move(host)), port_(port) {}

HttpClient::~HttpClient() { close(); }

void HttpClient::set_timeout_ms(int timeout_ms) {
  timeout_ms_ = timeout_ms;
  if (socket_ < 0) return;
  timeval timeout{};
  timeout.tv_sec = timeout_ms_ / 1000;
  timeout.tv_usec = (timeout_ms_ % 1000) * 1000;
  ::setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

void HttpClient::close() {
  if (socket_ >= 0) ::close(socket_);
  socket_ = -1;
  read_buffer_.clear();
}

void HttpClient::connect_now() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(port_);
  int status = ::getaddrinfo(host_.c_str(), port_text.c_str(), &hints, &found);
  if (status != 0) fail("cannot resolve " + host_ + ": " + ::gai_strerror(status));
  std::string last_error = "no address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    socket_ = ::socket(address->ai_family, address->ai_socktype, address->ai_protocol);
    if (socket_ < 0) continue;
    set_timeout_ms(timeout_ms_);
    int one = 1;
    ::setsockopt(socket_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(socket_, address->ai_addr, address->ai_addrlen) == 0) break;
    last_error = std::strerror(errno);
    ::close(socket_);
    socket_ = -1;
  }
  ::freeaddrinfo(found);
  if (socket_ < 0) fail("cannot connect to " + host_ + ":" + port_text + ": " + last_error);
}

bool HttpClient::closed_by_peer_without_waiting() {
  pollfd poll_fd{socket_, POLLIN, 0};
  if (::poll(&poll_fd, 1, 0) <= 0) return false;
  char byte = 0;
  ssize_t received = ::recv(socket_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void HttpClient::ensure_connected() {
  if (socket_ >= 0 && read_buffer_.empty() && closed_by_peer_without_waiting()) close();
  if (socket_ < 0) connect_now();
}

bool HttpClient::write_all(const std::string& bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    ssize_t sent = ::send(socket_, bytes.data() + written, bytes.size() - written, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) return false;
    if (sent < 0) fail_errno("send");
    written += static_cast<std::size_t>(sent);
  }
  return true;
}

bool HttpClient::fill() {
  char chunk[read_chunk_bytes];
  for (;;) {
    ssize_t received = ::recv(socket_, chunk, sizeof chunk, 0);
    if (received > 0) {
      read_buffer_.append(chunk, static_cast<std::size_t>(received));
      return true;
    }
    if (received == 0) return false;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return false;
    fail_errno("recv");
  }
}

std::string HttpClient::read_line() {
  for (;;) {
    std::size_t end = read_buffer_.find('\n');
    if (end != std::string::npos) {
      std::string line = read_buffer_.substr(0, end);
      read_buffer_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (!fill()) fail("the server closed the connection before a full response");
  }
}

void HttpClient::read_chunked_body(HttpResponse& response) {
  for (;;) {
    std::string size_line = read_line();
    std::size_t chunk_bytes = std::stoul(size_line, nullptr, 16);
    if (chunk_bytes == 0) break;
    while (read_buffer_.size() < chunk_bytes + 2) {
      if (!fill()) fail("the server closed the connection inside a chunk");
    }
    response.body.append(read_buffer_, 0, chunk_bytes);
    read_buffer_.erase(0, chunk_bytes + 2);
  }
  while (!read_line().empty()) {
  }
}

void HttpClient::read_body(HttpResponse& response, bool head_request) {
  if (head_request || response.status / 100 == 1 || response.status == 204 || response.status == 304) return;
  if (lower(response.header("transfer-encoding")).find("chunked") != std::string::npos) {
    read_chunked_body(response);
    return;
  }
  std::string length_text = response.header("content-length");
  if (length_text.empty()) {
    while (fill()) {
    }
    response.body = std::move(read_buffer_);
    close();
    return;
  }
  std::size_t length = std::stoul(length_text);
  while (read_buffer_.size() < length) {
    if (!fill()) fail("the server closed the connection before the whole body");
  }
  response.body = read_buffer_.substr(0, length);
  read_buffer_.erase(0, length);
}

HttpResponse HttpClient::read_response_for(bool head_request) {
  for (;;) {
    HttpResponse response;
    std::string status_line = read_line();
    std::size_t space = status_line.find(' ');
    if (status_line.rfind("HTTP/", 0) != 0 || space == std::string::npos) fail("bad status line: " + status_line);
    std::string version = status_line.substr(0, space);
    response.status = std::atoi(status_line.c_str() + space + 1);
    for (std::string line = read_line(); !line.empty(); line = read_line()) {
      std::size_t colon = line.find(':');
      if (colon == std::string::npos) fail("bad header line: " + line);
      std::string name = lower(line.substr(0, colon));
      std::string value = trim(line.substr(colon + 1));
      auto [slot, inserted] = response.headers.emplace(name, value);
      if (!inserted) slot->second += ", " + value;
    }
    if (response.status / 100 == 1) continue;  // 100 Continue and friends: the real answer follows
    read_body(response, head_request);
    if (socket_ >= 0 && closes_connection(version, response)) close();
    return response;
  }
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string message = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) + "\r\n";
  for (const auto& [name, value] : headers) message += name + ": " + value + "\r\n";
  if (!body.empty() && !has_header(headers, "content-type")) message += "Content-Type: application/json\r\n";
  if (!has_header(headers, "content-length")) message += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  message += "\r\n";
  message += body;
  try {
    ensure_connected();
    write_all(message);  // on a reset, the server may still have answered early: read it
    return read_response_for(method == "HEAD");
  } catch (...) {
    close();
    throw;
  }
}

HttpResponse HttpClient::send_raw(const std::string& bytes) {
  try {
    ensure_connected();
    write_all(bytes);
    return read_response_for(false);
  } catch (...) {
    close();
    throw;
  }
}

HttpResponse HttpClient::read_response() {
  if (socket_ < 0) fail("no connection to read from");
  try {
    return read_response_for(false);
  } catch (...) {
    close();
    throw;
  }
}

bool HttpClient::wait_closed_by_server(int wait_ms) {
  if (socket_ < 0) return true;
  if (!read_buffer_.empty()) return false;
  pollfd poll_fd{socket_, POLLIN, 0};
  int ready = ::poll(&poll_fd, 1, wait_ms);
  if (ready <= 0) return false;
  if (!closed_by_peer_without_waiting()) return false;
  close();
  return true;
}

}  // namespace payd::testing
