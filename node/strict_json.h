// Strict reading of JSON configuration: every key of an object must be asked for, and every
// value must have the type asked for; anything else is a one-line std::runtime_error.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>

namespace disco {

// Reads the keys of one JSON object, rejecting any key nobody asked for.
class StrictObject {
 public:
  StrictObject(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw std::runtime_error(fmt::format("config: {} must be an object", path_));
  }
  template <class T>
  void get(const char* key, T& out) {
    seen_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) return;  // absent: the default stays
    try {
      out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(fmt::format("config: {}.{} has the wrong type", path_, key));
    }
  }
  const nlohmann::json& sub(const char* key) {
    seen_.insert(key);
    static const nlohmann::json kEmpty = nlohmann::json::object();
    auto it = j_.find(key);
    return it == j_.end() ? kEmpty : *it;
  }
  void finish() const {
    for (auto& [k, v] : j_.items())
      if (!seen_.count(k)) throw std::runtime_error(fmt::format("config: unknown key {}.{}", path_, k));
  }

 private:
  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> seen_;
};


}  // namespace disco
