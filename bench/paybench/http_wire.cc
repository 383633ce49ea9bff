#include "bench/paybench/http_wire.h"

#include <charconv>

#include "bench/paybench/http_client.h"

namespace payd::bench {
namespace {

constexpr std::size_t head_bytes_max = 64 * 1024;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

WireResponse invalid(std::string error) {
  WireResponse response;
  response.state = WireResponse::State::invalid;
  response.error = std::move(error);
  return response;
}

}  // namespace

void write_request(const HttpRequest& request, std::string& out) {
  out += request.method;
  out += ' ';
  out += request.target;
  out += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!request.idempotency_key.empty()) {
    out += "Idempotency-Key: ";
    out += request.idempotency_key;
    out += "\r\n";
  }
  if (!request.body.empty()) {
    out += "Content-Type: application/json\r\nContent-Length: ";
    out += std::to_string(request.body.size());
    out += "\r\n\r\n";
    out += request.body;
  } else {
    out += "\r\n";
  }
}

WireResponse read_response(std::string_view received, std::size_t body_bytes_max) {
  std::size_t head_end = received.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (received.size() > head_bytes_max) return invalid("an answer head longer than 64 KiB");
    return WireResponse{};
  }
  std::string_view head = received.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 201 Created"
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
    return invalid("not an HTTP/1.x status line: " + std::string(status_line.substr(0, 40)));
  }
  WireResponse response;
  auto [status_end, status_error] = std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
  if (status_error != std::errc() || status_end != status_line.data() + 12 || response.status < 100) {
    return invalid("not an HTTP status: " + std::string(status_line.substr(0, 40)));
  }
  response.keep_alive = status_line[7] == '1';  // HTTP/1.0 closes unless asked to keep alive
  std::size_t content_length = 0;
  bool has_length = false;
  std::string_view fields = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!fields.empty()) {
    std::size_t end = fields.find("\r\n");
    std::string_view line = fields.substr(0, end);
    fields = end == std::string_view::npos ? std::string_view() : fields.substr(end + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return invalid("a header line without a colon");
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (equals_ignoring_case(name, "content-length")) {
      auto [end_of_number, error] = std::from_chars(value.data(), value.data() + value.size(), content_length);
      if (error != std::errc() || end_of_number != value.data() + value.size()) {
        return invalid("a Content-Length that is not a number");
      }
      has_length = true;
    } else if (equals_ignoring_case(name, "connection")) {
      if (equals_ignoring_case(value, "close")) response.keep_alive = false;
      if (equals_ignoring_case(value, "keep-alive")) response.keep_alive = true;
    } else if (equals_ignoring_case(name, "idempotent-replayed")) {
      response.replayed = equals_ignoring_case(value, "true");
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
      return invalid("a Transfer-Encoding answer (payd sends Content-Length)");
    }
  }
  bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
  if (!has_length && !bodiless) return invalid("an answer without Content-Length");
  if (content_length > body_bytes_max) return invalid("an answer body over the limit");
  std::size_t body_start = head_end + 4;
  if (received.size() - body_start < content_length) return WireResponse{};
  response.state = WireResponse::State::complete;
  response.body = received.substr(body_start, content_length);
  response.length = body_start + content_length;
  return response;
}

}  // namespace payd::bench
