#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "peer_cred.h"

namespace pisock::log {

// syslog priorities, so they go to the journal unchanged.
enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

std::optional<Level> parseLevel(std::string_view name);
std::string_view levelName(Level level);

void setLevel(Level level) noexcept;
[[nodiscard]] bool enabled(Level level) noexcept;

// Where log lines go: the journal's native protocol when stderr is connected to it
// (JOURNAL_STREAM names stderr's device and inode), otherwise stderr with a timestamp. Called
// once at startup; reads the environment. PISOCKD_TEST_JOURNAL=PATH, for the tests only,
// sends the journal's datagrams to the unix datagram socket at PATH instead of journald's.
void init() noexcept;

// Lines per second about one peer host (all peers together: ten times as many); 0: no limit.
void setRateLimit(unsigned perPeer) noexcept;
// Writes the due "suppressed N messages from HOST" lines; called by the server's ticker so
// they come even when the peer has gone quiet.
void flushSuppressed() noexcept;

// Who a line is about: the journal gets these as fields, a terminal line shows them as
// "ADDRESS #CONN: ". The address is the peer's as pisockd names it ("192.0.2.1:5000", "unix"),
// never text the peer chose; a unix client's credentials go in the fields of the lines that
// pass them (the connect line).
struct Peer {
    std::string_view address;
    std::uint64_t conn = 0;
    const PeerCred *cred = nullptr;
    // A client that came through a proxy (PROXY protocol): the proxy's address, and the
    // common name of its TLS client certificate if the proxy passed one (raw bytes, escaped
    // here). Empty: none.
    std::string_view proxy = {};
    std::string_view tlsName = {};
};

// Writes one line, unless a peer's lines are over the rate limit.
void write(Level level, std::string_view text, const Peer *peer = nullptr) noexcept;

// The fields of one journal entry, "NAME=value" (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and,
// for a peer, PISOCKD_PEER and PISOCKD_CONN, PISOCKD_PEER_UID and PISOCKD_PEER_PID with
// its credentials, PISOCKD_PROXY and PISOCKD_TLS_CN for a client through a proxy). Every value is escaped as every log line is (common/safe_text.h): a
// peer's bytes can neither start a line or a field of their own nor drive a terminal.
std::vector<std::string> journalFields(Level level, std::string_view text, const Peer *peer);

// Never throws: called from the loop's noexcept handlers, where a line the heap has no room
// for is lost rather than the daemon.
template<typename... Args>
void at(Level level, const Peer *peer, fmt::format_string<Args...> format, Args &&...args) noexcept
{
    if (!enabled(level))
        return;
    try {
        write(level, fmt::format(format, std::forward<Args>(args)...), peer);
    } catch (...) {
    }
}

template<typename... Args> void error(fmt::format_string<Args...> format, Args &&...args) noexcept
{
    at(Level::Error, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void warning(fmt::format_string<Args...> format, Args &&...args) noexcept
{
    at(Level::Warning, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void notice(fmt::format_string<Args...> format, Args &&...args) noexcept
{
    at(Level::Notice, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void info(fmt::format_string<Args...> format, Args &&...args) noexcept
{
    at(Level::Info, nullptr, format, std::forward<Args>(args)...);
}
template<typename... Args> void debug(fmt::format_string<Args...> format, Args &&...args) noexcept
{
    at(Level::Debug, nullptr, format, std::forward<Args>(args)...);
}

} // namespace pisock::log
