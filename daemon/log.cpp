#include "log.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

namespace pisock::log {

namespace {

constexpr std::array<std::string_view, 8> kNames = { "",        "",       "",     "error",
                                                     "warning", "notice", "info", "debug" };

// Plain data, no constructors: safe to use before and after main.
Level gLevel = Level::Info;
bool gJournal = false;

bool stderrIsJournal() noexcept
{
    // JOURNAL_STREAM="DEV:INO" of the stream systemd connected; stderr may since be redirected.
    const char *env = std::getenv("JOURNAL_STREAM");
    struct stat st {
    };
    if (!env || ::fstat(STDERR_FILENO, &st) != 0)
        return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2)
        return false;
    return st.st_dev == dev && st.st_ino == ino;
}

} // namespace

std::optional<Level> parseLevel(std::string_view name)
{
    for (std::size_t i = 3; i < kNames.size(); ++i)
        if (name == kNames[i])
            return static_cast<Level>(i);
    if (name == "warn")
        return Level::Warning;
    return std::nullopt;
}

std::string_view levelName(Level level)
{
    return kNames[static_cast<std::size_t>(level)];
}

void setLevel(Level level) noexcept
{
    gLevel = level;
}

bool enabled(Level level) noexcept
{
    return static_cast<int>(level) <= static_cast<int>(gLevel);
}

void init() noexcept
{
    gJournal = stderrIsJournal();
}

void write(Level level, std::string_view text, const Peer *peer) noexcept
{
    if (!enabled(level))
        return;
    try {
        fmt::memory_buffer line;
        auto out = std::back_inserter(line);
        if (gJournal) {
            // sd-daemon(3) prefix: the journal stores the priority, not the text.
            fmt::format_to(out, "<{}>", static_cast<int>(level));
        } else {
            timespec ts{};
            ::clock_gettime(CLOCK_REALTIME, &ts);
            struct tm tm {
            };
            ::localtime_r(&ts.tv_sec, &tm);
            char stamp[32];
            std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
            fmt::format_to(out, "{}.{:03} {:<7} ", stamp, ts.tv_nsec / 1000000, levelName(level));
        }
        if (peer)
            fmt::format_to(out, "{} #{}: ", peer->address, peer->conn);
        // One event, one line: a peer's bytes must not start a forged line of their own.
        for (char c : text)
            line.push_back(c == '\n' || c == '\r' ? ' ' : c);
        line.push_back('\n');
        // One write(2) per line keeps lines whole when several processes share the stream.
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
        // Out of memory while logging: drop the line, keep serving.
    }
}

} // namespace pisock::log
