#include "domain/idempotency.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include <boost/json.hpp>
#include <openssl/evp.h>

#include "core/json_writer.h"

namespace payd {
namespace {

void append_canonical(std::string& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(object.size());
      for (const auto& member : object) members.push_back(&member);
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out.push_back('{');
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out.push_back(',');
        append_json_string(out, members[i]->key());
        out.push_back(':');
        append_canonical(out, members[i]->value());
      }
      out.push_back('}');
      return;
    }
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_canonical(out, element);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::string:
      append_json_string(out, value.get_string());
      return;
    default:
      out += boost::json::serialize(value);
      return;
  }
}

}  // namespace

Result<std::string> parse_idempotency_key(std::string_view header_value) {
  std::string_view key = header_value;
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
  if (key.empty() || key.size() > idempotency_key_length_max) {
    return make_problem("idempotency_key_invalid", "Idempotency-Key must be 1 to 255 printable ASCII bytes.");
  }
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) {
      return make_problem("idempotency_key_invalid", "Idempotency-Key must be printable ASCII.");
    }
  }
  return std::string(key);
}

std::string canonical_json(const boost::json::value& value) {
  std::string out;
  append_canonical(out, value);
  return out;
}

std::string request_fingerprint(std::string_view method, std::string_view path, const boost::json::value& body) {
  std::string material;
  material.reserve(256);
  material.append(method).push_back(' ');
  material.append(path).push_back('\n');
  append_canonical(material, body);
  // SHA-256 fetched once and a context kept per thread: EVP_Digest looks the
  // algorithm up and allocates a context on every call, which cost more than
  // the hashing itself.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                     &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  bool hashed = sha256 && context && EVP_DigestInit_ex2(context.get(), sha256, nullptr) == 1 &&
                                 EVP_DigestUpdate(context.get(), material.data(), material.size()) == 1 &&
                                 EVP_DigestFinal_ex(context.get(), digest, &length) == 1;
  if (!hashed) throw std::runtime_error("SHA-256 is unavailable");  // never a fingerprint that matches anything
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

bool is_stored_outcome(unsigned status, std::string_view problem_code) {
  if (status >= 200 && status < 300) return true;
  if (status == 402) return true;
  if (status == 409) return problem_code == "invalid_state" || problem_code == "amount_exceeds_refundable";
  return false;
}

}  // namespace payd
