// Whole numbers from the command line and from experiment files: digits only, within the type.
// CLI11 alone takes `--ops -5` as 18446744073709551611 and saturates 99999999999999999999.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace disco {

// Empty when `text` is a whole number that fits T (and is not negative), else why not.
template <class T>
std::string number_problem(const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() || end != text.data() + text.size())
    return fmt::format("'{}' is not a whole number from 0 to {}", text, std::numeric_limits<T>::max());
  return {};
}

template <class T>
CLI::Option* add_number(CLI::App& cmd, const std::string& name, T& value, const std::string& help) {
  return cmd.add_option(name, value, help)
      ->check(CLI::Validator([](std::string& s) { return number_problem<T>(s); }, "NUMBER"))
      ->capture_default_str();
}

}  // namespace disco
