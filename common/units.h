#pragma once

#include <cstddef>

namespace pisock {

// Sizes in bytes: write 64 * kKiB, so the arithmetic is done in std::size_t.
inline constexpr std::size_t kKiB = 1024;
inline constexpr std::size_t kMiB = 1024 * kKiB;
inline constexpr std::size_t kGiB = 1024 * kMiB;

} // namespace pisock
