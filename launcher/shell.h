// Running the repository's scripts and our own binary from the launcher: one quoting rule.
#pragma once

#include <string>

namespace disco {

// `s` as one word for /bin/sh, whatever it holds.
inline std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace disco
