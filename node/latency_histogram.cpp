#include "node/latency_histogram.h"

namespace disco {

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (unsigned i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
}

double LatencyHistogram::midpoint(unsigned i) {
  if (i < 32) return i;
  const unsigned shift = (i - 32) / 16 + 1;
  const double m = (i - 32) % 16 + 16;
  return (m + 0.5) * static_cast<double>(uint64_t{1} << shift);
}

double LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return midpoint(i);
  }
  return midpoint(kBuckets - 1);
}

nlohmann::json LatencyHistogram::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (unsigned i = 0; i < kBuckets; ++i)
    if (buckets_[i]) rows.push_back({i, buckets_[i]});
  return {{"count", count_}, {"buckets", rows}};
}

LatencyHistogram LatencyHistogram::from_json(const nlohmann::json& j) {
  LatencyHistogram h;
  if (!j.is_object() || !j.contains("buckets") || !j["buckets"].is_array()) return h;
  for (const auto& row : j["buckets"]) {
    if (!row.is_array() || row.size() != 2 || !row[0].is_number_unsigned() || !row[1].is_number_unsigned()) continue;
    const uint64_t i = row[0], n = row[1];
    if (i >= kBuckets || n > UINT32_MAX) continue;
    h.buckets_[i] += static_cast<uint32_t>(n);
    h.count_ += n;
  }
  return h;
}

}  // namespace disco
