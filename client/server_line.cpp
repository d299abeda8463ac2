#include "server_line.h"

#include <array>

namespace pisock {

ServerLine classifyServerLine(std::string_view line) noexcept
{
    constexpr std::string_view kError = "error: ";
    // Whole lines, but "idle timeout" is followed by its duration: "idle timeout (300 s)".
    constexpr std::array<std::string_view, 4> kCloseReasons = { "server busy", "not allowed",
                                                                "server stopping", "idle timeout" };
    if (!line.starts_with(kError))
        return ServerLine::Plain;
    const std::string_view what = line.substr(kError.size());
    for (const auto reason : kCloseReasons)
        if (what == reason ||
            (what.starts_with(reason) && what.substr(reason.size()).starts_with(" (")))
            return ServerLine::CloseReason;
    return ServerLine::Error;
}

} // namespace pisock
