#include "duration.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace pisock {

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text)
{
    double value = 0;
    const char *end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
    if (ec != std::errc() || ptr == text.data() || text.front() == '-' || text.front() == '+' ||
        !std::isfinite(value))
        return std::nullopt;
    const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    constexpr std::array<std::pair<std::string_view, double>, 6> kUnits = { {
            { "", 1000.0 },
            { "s", 1000.0 },
            { "ms", 1.0 },
            { "m", 60'000.0 },
            { "min", 60'000.0 },
            { "h", 3'600'000.0 },
    } };
    for (const auto &[name, scale] : kUnits) {
        if (unit != name)
            continue;
        const double ms = std::ceil(value * scale);
        if (ms > static_cast<double>(kMaxDuration.count()))
            return std::nullopt;
        return std::chrono::milliseconds(static_cast<long long>(ms));
    }
    return std::nullopt;
}

} // namespace pisock
