#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "bench.h"
#include "common/address.h"
#include "common/line_codec.h"
#include "status.h"
#include "tls.h"

namespace pisock {

inline constexpr std::uint16_t kDefaultPort = 8888;
inline constexpr const char *kDefaultHost = "localhost";

// A bad command line: exit status 2, what() is the one line to print.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// What one run of pisock does, from the command line.
struct ClientOptions {
    Endpoint endpoint{ Endpoint::Kind::Inet, kDefaultHost, kDefaultPort, {} };
    int family = AF_UNSPEC; // -4: AF_INET, -6: AF_INET6
    std::vector<std::string> messages; // -m, in order
    bool raw = false; // --raw: byte pipe, no framing
    bool noReplies = false; // --no-replies: messages, but nothing comes back for them
    bool hex = false; // --hex: show what arrives as a hex dump
    bool listenOnly = false; // --listen-only: read no input, send nothing, print what arrives
    bool reconnect = false; // --reconnect: a listener connects again when the server closes
    std::string name; // --name: sent as "name: NAME" first (broadcast mode); empty: none
    Framing framing = Framing::Line;
    std::optional<std::chrono::milliseconds> timeout; // none: wait as long as it takes
    TlsOptions tls; // --tls, --ca, --insecure
};

struct CommandLine {
    ClientOptions options;
    bool exitNow = false; // --help or --version printed
    bool bench = false; // `pisock bench`: run the load generator with benchOptions
    BenchOptions benchOptions;
};

// Parses argv; throws UsageError on an unknown option, a bad value or a bad address.
CommandLine parseCommandLine(int argc, const char *const *argv);

// The positional arguments: none (localhost 8888), "HOST", "HOST:PORT", "[V6]:PORT", "V6",
// "PORT", "unix:/path" or "HOST PORT". Sets error and returns nothing when they make no sense.
std::optional<Endpoint> parseTarget(const std::vector<std::string> &args, std::string &error);

// parseDuration()'s grammar ("5", "0.5", "250ms", "2m"), up to a day; nothing if text is not
// one.
std::optional<std::chrono::milliseconds> parseTimeout(std::string_view text);

// "5s", "0.5s", "250ms": a timeout for messages.
std::string formatDuration(std::chrono::milliseconds duration);

} // namespace pisock
