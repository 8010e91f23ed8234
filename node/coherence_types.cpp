#include "node/coherence_types.h"

namespace disco {

std::string_view name(LineState s) {
  switch (s) {
    case LineState::I: return "I";
    case LineState::S: return "S";
    case LineState::E: return "E";
    case LineState::M: return "M";
  }
  return "?";
}

std::string_view name(DirState s) {
  switch (s) {
    case DirState::Uncached: return "Uncached";
    case DirState::Shared: return "Shared";
    case DirState::Exclusive: return "Exclusive";
    case DirState::BusyInv: return "BusyInv";
    case DirState::BusyFwd: return "BusyFwd";
  }
  return "?";
}

}  // namespace disco
