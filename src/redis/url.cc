// parse_url: the four forms of PAYMENT_CACHE_URL (see client.h).
//
// Hand-written rather than a generic URL parser because the cluster and
// Sentinel forms list several hosts, which no URL grammar allows. The user
// and password are percent-decoded. Error details name the part at fault
// and never contain the credentials: the URL is often pasted into logs.
#include <charconv>
#include <optional>
#include <string_view>

#include "redis/client.h"

namespace payd::redis {
namespace {

constexpr std::uint16_t redis_port_default = 6379;
constexpr std::uint16_t sentinel_port_default = 26379;
constexpr int database_max = 1'000'000;

Problem url_problem(std::string detail) { return invalid_request("Redis URL: " + std::move(detail)); }

std::optional<int> parse_decimal(std::string_view text, int max) {
  int value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0 || value > max) return std::nullopt;
  return value;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return decoded;
}

bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == '.' || c == '_';
    if (!allowed) return false;
  }
  return true;
}

bool is_ipv6_literal(std::string_view host) {
  if (host.size() < 2) return false;
  for (char c : host) {
    if (hex_value(c) < 0 && c != ':' && c != '.') return false;
  }
  return true;
}

// "host", "host:port", "[v6]" or "[v6]:port".
Result<Url::Host> parse_host(std::string_view text, std::uint16_t port_default) {
  Url::Host host;
  host.port = port_default;
  std::string_view name = text;
  std::optional<std::string_view> port;
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return url_problem("an IPv6 host without its closing ']'");
    name = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return url_problem("unexpected text after an IPv6 host");
    if (!after.empty()) port = after.substr(1);
    if (!is_ipv6_literal(name)) return url_problem("a malformed IPv6 host");
  } else {
    std::size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      name = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (name.empty()) return url_problem("a host is missing");
    if (!is_host_name(name)) return url_problem("the host '" + std::string(name) + "' is not a host name or address");
  }
  if (port) {
    std::optional<int> number = parse_decimal(*port, 65535);
    if (!number || *number == 0) return url_problem("the port '" + std::string(*port) + "' is not a number in 1..65535");
    host.port = static_cast<std::uint16_t>(*number);
  }
  host.host = std::string(name);
  return host;
}

// "user:password" or ":password", percent-encoded.
Status parse_credentials(std::string_view userinfo, Url& url) {
  std::size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    return url_problem("credentials must be given as user:password@ or :password@");
  }
  std::optional<std::string> user = percent_decode(userinfo.substr(0, colon));
  std::optional<std::string> password = percent_decode(userinfo.substr(colon + 1));
  if (!user || !password) return url_problem("malformed percent-encoding in the credentials");
  if (password->empty()) return url_problem("the password is empty");
  url.user = std::move(*user);
  url.password = std::move(*password);
  return Ok{};
}

Status parse_hosts(std::string_view text, std::uint16_t port_default, Url& url) {
  while (true) {
    std::size_t comma = text.find(',');
    Result<Url::Host> host = parse_host(text.substr(0, comma), port_default);
    if (!host.ok()) return host.take_problem();
    url.hosts.push_back(std::move(*host));
    if (comma == std::string_view::npos) return Ok{};
    text.remove_prefix(comma + 1);
  }
}

// The part after the hosts: "/db" for one node, "/master-name" for Sentinel.
Status parse_path(std::string_view path, Url& url) {
  if (url.mode == Url::Mode::sentinel) {
    if (path.size() <= 1) return url_problem("redis-sentinel:// needs the master name as its path: /master-name");
    std::string_view name = path.substr(1);
    if (name.find('/') != std::string_view::npos) return url_problem("a Sentinel URL takes no database");
    if (!is_host_name(name)) return url_problem("the master name '" + std::string(name) + "' has unexpected characters");
    url.master_name = std::string(name);
    return Ok{};
  }
  if (path.size() <= 1) return Ok{};
  if (url.mode == Url::Mode::cluster) return url_problem("a Redis Cluster has only database 0; remove the path");
  std::optional<int> database = parse_decimal(path.substr(1), database_max);
  if (!database) return url_problem("the database '" + std::string(path.substr(1)) + "' is not a number");
  url.db = *database;
  return Ok{};
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
  Url url;
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return url_problem("expected scheme://..., e.g. redis://127.0.0.1:6379");
  std::string_view scheme = text.substr(0, scheme_end);
  std::uint16_t port_default = redis_port_default;
  if (scheme == "redis") {
    url.mode = Url::Mode::single;
  } else if (scheme == "rediss") {
    url.mode = Url::Mode::single;
    url.tls = true;
  } else if (scheme == "redis-cluster") {
    url.mode = Url::Mode::cluster;
  } else if (scheme == "redis-sentinel") {
    url.mode = Url::Mode::sentinel;
    port_default = sentinel_port_default;
  } else {
    return url_problem("unknown scheme '" + std::string(scheme.substr(0, 32)) +
                       "'; expected redis, rediss, redis-cluster or redis-sentinel");
  }
  std::string_view rest = text.substr(scheme_end + 3);
  // The credentials end at the last '@', so that a password with '/' or
  // '?' in it is never taken for a host or a path and echoed.
  std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    Status credentials = parse_credentials(rest.substr(0, at), url);
    if (!credentials.ok()) return credentials.take_problem();
    rest.remove_prefix(at + 1);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) return url_problem("query and fragment are not supported");
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty()) return url_problem("a host is missing");
  Status hosts = parse_hosts(authority, port_default, url);
  if (!hosts.ok()) return hosts.take_problem();
  if (url.mode == Url::Mode::single && url.hosts.size() != 1) {
    return url_problem("redis:// and rediss:// take one host; list several with redis-cluster:// or redis-sentinel://");
  }
  Status parsed_path = parse_path(path, url);
  if (!parsed_path.ok()) return parsed_path.take_problem();
  return url;
}

}  // namespace payd::redis
