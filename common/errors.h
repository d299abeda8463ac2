#pragma once

#include <string>

namespace pisock {

// The text of an errno value ("Connection refused"); never fails, never allocates a buffer
// the caller must free.
std::string errnoText(int err);

} // namespace pisock
