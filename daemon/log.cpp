#include "log.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "common/clock.h"
#include "common/safe_text.h"
#include "log_limit.h"

namespace pisock::log {

namespace {

constexpr std::array<std::string_view, 8> kNames = { "",        "",       "",     "error",
                                                     "warning", "notice", "info", "debug" };
constexpr unsigned kTotalPerPeerLimit = 10; // all peers together: ten times one peer's

enum class Sink { Terminal, Journal, TestJournal };

// Plain data, no constructors: safe to use before and after main.
Level gLevel = Level::Info;
Sink gSink = Sink::Terminal;
int gTestJournalFd = -1; // lives as long as the process
sockaddr_un gTestJournalAddr{};

LineLimiter &limiter()
{
    static LineLimiter instance(LineLimiter::Limits{});
    return instance;
}

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

bool openTestJournal(const char *path) noexcept
{
    if (std::strlen(path) >= sizeof(gTestJournalAddr.sun_path))
        return false;
    gTestJournalFd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    // Blocking like libsystemd's journal socket, so a slow reader loses nothing; but bounded.
    const timeval timeout{ 2, 0 };
    ::setsockopt(gTestJournalFd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    gTestJournalAddr.sun_family = AF_UNIX;
    std::memcpy(gTestJournalAddr.sun_path, path, std::strlen(path) + 1); // length checked above
    return gTestJournalFd >= 0;
}

void writeStderr(Level level, std::string_view text, const Peer *peer, bool prefixOnly)
{
    fmt::memory_buffer line;
    auto out = std::back_inserter(line);
    if (prefixOnly) {
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
        fmt::format_to(out, "{} #{}: ", escapeText(peer->address), peer->conn);
    fmt::format_to(out, "{}\n", escapeText(text));
    // One write(2) per line keeps lines whole when several processes share the stream.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

// Native protocol (systemd.journal-fields(7)): sd_journal_sendv() takes the fields as data,
// so nothing a peer sent is ever read as a format string.
bool writeJournal(Level level, std::string_view text, const Peer *peer)
{
    const std::vector<std::string> fields = journalFields(level, text, peer);
    if (gSink == Sink::TestJournal) {
        std::string datagram;
        for (const auto &f : fields)
            datagram.append(f).push_back('\n');
        return ::sendto(gTestJournalFd, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr *>(&gTestJournalAddr),
                        sizeof(gTestJournalAddr)) >= 0;
    }
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto &f : fields)
        iov.push_back({ const_cast<char *>(f.data()), f.size() });
    return ::sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

void emit(Level level, std::string_view text, const Peer *peer) noexcept
{
    try {
        if (gSink == Sink::Terminal || !writeJournal(level, text, peer))
            writeStderr(level, text, peer, gSink != Sink::Terminal);
    } catch (...) {
        // Out of memory while logging: drop the line, keep serving.
    }
}

void emitReports(std::uint64_t nowMs) noexcept
{
    try {
        for (const auto &line : limiter().report(nowMs))
            emit(Level::Warning, line, nullptr);
    } catch (...) {
    }
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
    gSink = Sink::Terminal;
    if (!stderrIsJournal())
        return;
    const char *testPath = std::getenv("PISOCKD_TEST_JOURNAL");
    gSink = testPath && openTestJournal(testPath) ? Sink::TestJournal : Sink::Journal;
}

void setRateLimit(unsigned perPeer) noexcept
{
    LineLimiter::Limits limits = limiter().limits();
    limits.perPeer = perPeer;
    limits.total = perPeer * kTotalPerPeerLimit;
    limiter().setLimits(limits);
}

void flushSuppressed() noexcept
{
    emitReports(monotonicMs());
}

std::vector<std::string> journalFields(Level level, std::string_view text, const Peer *peer)
{
    std::vector<std::string> fields;
    fields.reserve(peer ? 9 : 3);
    const std::string address = peer ? escapeText(peer->address) : std::string();
    if (peer)
        fields.push_back(fmt::format("MESSAGE={} #{}: {}", address, peer->conn, escapeText(text)));
    else
        fields.push_back("MESSAGE=" + escapeText(text));
    fields.push_back(fmt::format("PRIORITY={}", static_cast<int>(level)));
    fields.emplace_back("SYSLOG_IDENTIFIER=pisockd");
    if (peer) {
        fields.push_back("PISOCKD_PEER=" + address);
        fields.push_back(fmt::format("PISOCKD_CONN={}", peer->conn));
        if (peer->cred) {
            fields.push_back(fmt::format("PISOCKD_PEER_UID={}", peer->cred->uid));
            fields.push_back(fmt::format("PISOCKD_PEER_PID={}", peer->cred->pid));
        }
        if (!peer->proxy.empty())
            fields.push_back("PISOCKD_PROXY=" + escapeText(peer->proxy));
        if (!peer->tlsName.empty())
            fields.push_back("PISOCKD_TLS_CN=" + escapeText(peer->tlsName));
    }
    return fields;
}

void write(Level level, std::string_view text, const Peer *peer) noexcept
{
    if (!enabled(level))
        return;
    if (peer) {
        try {
            const std::uint64_t now = monotonicMs();
            emitReports(now);
            if (!limiter().allow(peer->address, now))
                return;
        } catch (...) {
            return; // no memory for the table: better one line less than a flood
        }
    }
    emit(level, text, peer);
}

} // namespace pisock::log
