#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace pisock {

// The longest duration parseDuration() takes: a year.
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 365);

// The one duration grammar of pisock and pisockd: a number, whole or with a fraction, then
// nothing (seconds) or a unit: "ms", "s", "m" or "min", "h". "250ms", "0.5", "2s", "1.5m",
// "1h". Fractions of a millisecond round up. Nothing if text is not one, is negative, or is
// longer than kMaxDuration; each option checks its own range.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

} // namespace pisock
