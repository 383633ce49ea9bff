#include "metrics/metrics.h"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace payd::metrics {
namespace {

std::string render_labels(const Labels& labels, const std::string& extra_name = {},
                          const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  auto append = [&](const std::string& name, const std::string& value) {
    if (!first) out.push_back(',');
    first = false;
    out += name;
    out += "=\"";
    for (char c : value) {
      if (c == '\\' || c == '"') out.push_back('\\');
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out.push_back(c);
    }
    out.push_back('"');
  };
  for (const auto& [name, value] : labels) append(name, value);
  if (!extra_name.empty()) append(extra_name, extra_value);
  out.push_back('}');
  return out;
}

// Adds `le` to an already rendered label set.
std::string with_le(const std::string& rendered, const std::string& le) {
  if (rendered.empty()) return "{le=\"" + le + "\"}";
  return rendered.substr(0, rendered.size() - 1) + ",le=\"" + le + "\"}";
}

std::string format_number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[upper_bounds_.size()]) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (value <= upper_bounds_[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0) sum_micro_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

double Histogram::sum() const { return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6; }

std::uint64_t Histogram::cumulative(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t j = 0; j <= i && j < upper_bounds_.size(); ++j) total += buckets_[j].load(std::memory_order_relaxed);
  return total;
}

const std::vector<double>& latency_buckets_s() {
  static const std::vector<double> bounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1,
                                             2.5,     5,      10};
  return bounds;
}

const std::vector<double>& size_buckets() {
  static const std::vector<double> bounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  return bounds;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help, Kind kind) {
  auto [it, inserted] = families_.try_emplace(name, Family{kind, help, {}, {}, {}});
  assert(it->second.kind == kind);
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, Kind::counter);
  std::string key = render_labels(labels);
  auto it = f.counters.find(key);
  if (it != f.counters.end()) return *it->second;
  Counter& c = counter_storage_.emplace_back();
  f.counters.emplace(key, &c);
  return c;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, Kind::gauge);
  std::string key = render_labels(labels);
  auto it = f.gauges.find(key);
  if (it != f.gauges.end()) return *it->second;
  Gauge& g = gauge_storage_.emplace_back();
  f.gauges.emplace(key, &g);
  return g;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, Kind::histogram);
  std::string key = render_labels(labels);
  auto it = f.histograms.find(key);
  if (it != f.histograms.end()) return *it->second;
  Histogram& h = histogram_storage_.emplace_back(upper_bounds);
  f.histograms.emplace(key, &h);
  return h;
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::counter ? "counter" : f.kind == Kind::gauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, c] : f.counters) out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + std::to_string(g->value()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      for (std::size_t i = 0; i < h->upper_bounds().size(); ++i) {
        out += name + "_bucket" + with_le(labels, format_number(h->upper_bounds()[i])) + " " +
               std::to_string(h->cumulative(i)) + "\n";
      }
      out += name + "_bucket" + with_le(labels, "+Inf") + " " + std::to_string(h->count()) + "\n";
      out += name + "_sum" + labels + " " + format_number(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h->count()) + "\n";
    }
  }
  return out;
}

}  // namespace payd::metrics
