#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace pisock::log {

// syslog priorities, so they go to the journal unchanged.
enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

std::optional<Level> parseLevel(std::string_view name);
std::string_view levelName(Level level);

void setLevel(Level level) noexcept;
[[nodiscard]] bool enabled(Level level) noexcept;

// Where log lines go: the journal when stderr is connected to it (JOURNAL_STREAM), otherwise
// stderr with a timestamp. Called once at startup; reads the environment.
void init() noexcept;

// Who a line is about: the journal gets these as fields, a terminal line shows them.
struct Peer {
    std::string_view address;
    std::uint64_t conn = 0;
};

void write(Level level, std::string_view text, const Peer *peer = nullptr) noexcept;

template<typename... Args>
void at(Level level, const Peer *peer, fmt::format_string<Args...> format, Args &&...args)
{
    if (enabled(level))
        write(level, fmt::format(format, std::forward<Args>(args)...), peer);
}

template<typename... Args> void error(fmt::format_string<Args...> format, Args &&...args)
{
    at(Level::Error, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void warning(fmt::format_string<Args...> format, Args &&...args)
{
    at(Level::Warning, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void notice(fmt::format_string<Args...> format, Args &&...args)
{
    at(Level::Notice, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void info(fmt::format_string<Args...> format, Args &&...args)
{
    at(Level::Info, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void debug(fmt::format_string<Args...> format, Args &&...args)
{
    at(Level::Debug, nullptr, format, std::forward<Args>(args)...);
}

} // namespace pisock::log
