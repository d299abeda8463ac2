#include "options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/errors.h"
#include "common/units.h"
#include "config_file.h"
#include "exit_code.h"
#include "listen_set.h"
#include "socket_options.h"
#include "version.h"

namespace pisock {

namespace {

// Parses "65536", "64K", "64KiB", "1M", "1MiB", "1G"; 0 < value and no overflow.
std::optional<std::size_t> parseSize(std::string_view text)
{
    std::size_t value = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr == text.data())
        return std::nullopt;
    std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    std::size_t scale = 1;
    if (unit == "K" || unit == "KiB" || unit == "k")
        scale = kKiB;
    else if (unit == "M" || unit == "MiB")
        scale = kMiB;
    else if (unit == "G" || unit == "GiB")
        scale = kGiB;
    else if (!unit.empty() && unit != "B")
        return std::nullopt;
    if (value > static_cast<std::size_t>(-1) / scale)
        return std::nullopt;
    return value * scale;
}

// Parses seconds: "300", "300s", "5m", "1h".
std::optional<unsigned> parseSeconds(std::string_view text)
{
    unsigned value = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr == text.data())
        return std::nullopt;
    std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    unsigned scale = 1;
    if (unit == "m" || unit == "min")
        scale = 60;
    else if (unit == "h")
        scale = 3600;
    else if (!unit.empty() && unit != "s")
        return std::nullopt;
    if (value > 24u * 3600u * 365u / scale)
        return std::nullopt;
    return value * scale;
}

// 64 GiB, or 2 GiB where std::size_t is 32 bits (armhf).
constexpr std::size_t kMaxMemoryLimit = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::uint64_t{ 64 } << 30,
                                std::uint64_t{ std::numeric_limits<std::size_t>::max() } / 2 + 1));

// What log::parseLevel() takes ("warn" too), for --log-level's error.
constexpr std::string_view kLevelNames = "error, warning, notice, info, debug";

// Each option applies one value to Settings and returns "" or why the value is wrong.
using Apply = std::function<std::string(Settings &, std::string_view)>;

struct OptionDef {
    std::string_view name; // long option and configuration key
    std::string_view typeName;
    std::string_view help;
    Apply apply;
    bool repeatable = false;
};

Apply sizeSetter(std::size_t Settings::*field, std::size_t min, std::size_t max)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        const auto size = parseSize(v);
        if (!size)
            return fmt::format("'{}' is not a size (e.g. 65536, 64K, 1M)", v);
        if (*size < min || *size > max)
            return fmt::format("{} is out of range ({}..{})", *size, min, max);
        s.*field = *size;
        return {};
    };
}

// A duration in seconds, up to max if one is given.
Apply secondsSetter(unsigned Settings::*field, std::optional<unsigned> max = std::nullopt)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        const auto seconds = parseSeconds(v);
        if (max && (!seconds || *seconds > *max))
            return fmt::format("'{}' is not a duration from 0 to {} seconds", v, *max);
        if (!seconds)
            return fmt::format("'{}' is not a duration in seconds (e.g. 5, 30s, 5m)", v);
        s.*field = *seconds;
        return {};
    };
}

// A whole number from min to max, digits only.
template<class T> Apply countSetter(T Settings::*field, T min, T max)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        T n = 0;
        const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || ptr != v.data() + v.size() || n < min || n > max)
            return fmt::format("'{}' is not a number from {} to {}", v, min, max);
        s.*field = n;
        return {};
    };
}

// One of a few names, each for a value.
template<class T>
Apply oneOf(T Settings::*field, std::vector<std::pair<std::string_view, T>> choices)
{
    std::string names;
    for (const auto &choice : choices)
        names += (names.empty() ? "" : ", ") + std::string(choice.first);
    return [=](Settings &s, std::string_view v) -> std::string {
        for (const auto &[name, value] : choices) {
            if (v == name) {
                s.*field = value;
                return {};
            }
        }
        return fmt::format("'{}' is not one of {}", v, names);
    };
}

// A value parse() understands (it knows the names: expected lists them for the error).
template<class T>
Apply parsedSetter(T Settings::*field, std::optional<T> (*parse)(std::string_view),
                   std::string_view expected)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        const auto value = parse(v);
        if (!value)
            return fmt::format("'{}' is not one of {}", v, expected);
        s.*field = *value;
        return {};
    };
}

// A line of text of at most maxSize bytes.
Apply textSetter(std::string Settings::*field, std::size_t maxSize)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        if (v.find('\n') != std::string_view::npos)
            return "must not contain a newline";
        if (v.size() > maxSize)
            return fmt::format("longer than {} bytes", maxSize);
        s.*field = v;
        return {};
    };
}

// Repeatable: each value is parsed by parse(text, error) and added to the list.
template<class T>
Apply listAdder(std::vector<T> Settings::*field,
                std::optional<T> (*parse)(std::string_view, std::string &), bool quote)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        std::string error;
        auto value = parse(v, error);
        if (!value)
            return quote ? fmt::format("'{}': {}", v, error) : error;
        (s.*field).push_back(std::move(*value));
        return {};
    };
}

// A browser origin as it sends it ("http://pi.local:8080", no path), or "*" for any.
std::optional<std::string> parseOrigin(std::string_view v, std::string &error)
{
    const bool scheme = v.starts_with("http://") || v.starts_with("https://");
    const std::string_view host =
            v.substr(v.find("//") == std::string_view::npos ? 0 : v.find("//") + 2);
    if (v != "*" &&
        (!scheme || host.empty() || host.find_first_of("/ \t?#@") != std::string_view::npos)) {
        error = fmt::format("'{}' is not an origin (http://HOST[:PORT], https://..., or *)", v);
        return std::nullopt;
    }
    return std::string(v);
}

// A repeatable option given on the command line replaces the file's list.
void clearList(Settings &s, std::string_view name)
{
    if (name == "listen")
        s.listen.clear();
    else if (name == "allow")
        s.allow.clear();
    else if (name == "deny")
        s.deny.clear();
    else if (name == "ws-origin")
        s.wsOrigins.clear();
}

// Every option but those of ws listeners.
std::vector<OptionDef> coreOptions();

// The options of ws listeners (docs/WEBSOCKET.md).
std::vector<OptionDef> webSocketOptions()
{
    return {
        { "ws-origin", "ORIGIN",
          "ws listeners: a browser page from this origin may connect, repeatable: "
          "http://pi.local:8080, or * for any (default: only the built-in page's own)",
          listAdder(&Settings::wsOrigins, parseOrigin, false), true },
        { "ws-page", "yes|no", "ws listeners: serve the built-in page at / (default yes)",
          oneOf(&Settings::wsPage, { { "yes", true }, { "no", false } }) },
    };
}

const std::vector<OptionDef> &optionDefs()
{
    static const std::vector<OptionDef> defs = [] {
        std::vector<OptionDef> all = coreOptions();
        for (auto &def : webSocketOptions())
            all.push_back(std::move(def));
        return all;
    }();
    return defs;
}

std::vector<OptionDef> coreOptions()
{
    return {
        { "mode", "reply|echo|broadcast",
          "reply: answer each message with the prefix; echo: return every byte; broadcast: "
          "send each message to every other client",
          oneOf(&Settings::mode, { { "reply", Mode::Reply },
                                   { "echo", Mode::Echo },
                                   { "broadcast", Mode::Broadcast } }) },
        { "framing", "line|raw", "line: a message ends at \\n; raw: each read is a message",
          oneOf(&Settings::framing, { { "line", Framing::Line }, { "raw", Framing::Raw } }) },
        { "reply-prefix", "TEXT", "text put before each reply (default \"server rec: \")",
          textSetter(&Settings::replyPrefix, 4096) },
        { "listen", "ADDR",
          "address to listen on, repeatable: [::]:8888, 0.0.0.0:8888, 127.0.0.1:0, unix:/path; "
          "ws:ADDR for WebSocket clients (browsers): ws:8080",
          listAdder(&Settings::listen, parseListenAddress, true), true },
        { "max-message", "BYTES", "longest message answered (default 64K)",
          sizeSetter(&Settings::maxMessage, 1, 16 * kMiB) },
        { "max-connections", "N",
          "clients served at once; others get \"error: server busy\" (default 1024)",
          countSetter<std::size_t>(&Settings::maxConnections, 1, 1000000) },
        { "max-per-host", "N",
          "clients one address (unix socket: one user) may have at once; others get \"error: "
          "server busy\"; 0: no limit (default 256)",
          countSetter<std::size_t>(&Settings::maxPerHost, 0, 1000000) },
        { "memory-limit", "BYTES",
          "memory for all clients' buffers and queues; near it pisockd slows the biggest "
          "clients and refuses new ones (default 64M)",
          sizeSetter(&Settings::memoryLimit, kMiB, kMaxMemoryLimit) },
        { "high-water", "BYTES",
          "pending output per client that stops reading from it (default 1M)",
          sizeSetter(&Settings::highWater, 4096, kGiB) },
        { "low-water", "BYTES", "pending output under which reading resumes (default 256K)",
          sizeSetter(&Settings::lowWater, 0, kGiB) },
        { "slow-client", "drop|disconnect",
          "broadcast mode: a client with --high-water of output waiting loses messages (drop) "
          "or is disconnected (default drop)",
          oneOf(&Settings::slowClient,
                { { "drop", SlowClient::Drop }, { "disconnect", SlowClient::Disconnect } }) },
        { "shutdown-timeout", "SECONDS",
          "time given to clients to receive their replies on stop (default 5)",
          secondsSetter(&Settings::shutdownTimeoutSec) },
        { "log-level", "LEVEL", "error, warning, notice, info or debug (default info)",
          parsedSetter(&Settings::logLevel, log::parseLevel, kLevelNames) },
        { "log-rate", "LINES",
          "lines per second logged about one client address, 0 for no limit (default 20)",
          countSetter(&Settings::logRate, 0U, 100000U) },
        { "idle-timeout", "SECONDS", "close a client idle this long; 0: never (default 300)",
          secondsSetter(&Settings::idleTimeoutSec) },
        { "keepalive", "SECONDS",
          "TCP keepalive: probe a silent peer after this long; 0: off (default 60)",
          secondsSetter(&Settings::keepaliveSec, kMaxKeepaliveSec) },
        { "allow", "CIDR",
          "serve only these networks, repeatable: 192.168.0.0/16, ::1 (default: all)",
          listAdder(&Settings::allow, parseCidr, false), true },
        { "deny", "CIDR", "refuse these networks, repeatable; wins over --allow",
          listAdder(&Settings::deny, parseCidr, false), true },
    };
}

const OptionDef *findOption(std::string_view key)
{
    const auto &defs = optionDefs();
    auto it = std::find_if(defs.begin(), defs.end(),
                           [&](const OptionDef &d) { return d.name == key; });
    return it == defs.end() ? nullptr : &*it;
}

struct CliOption {
    const OptionDef *def;
    std::vector<std::string> values;
};

void buildApp(CLI::App &app, CommandLine &cmd, std::vector<CliOption> &options)
{
    app.set_version_flag("--version", std::string("pisockd ") + kVersion);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_flag("--check", cmd.check,
                 "check the configuration and the listen addresses, then exit");
    app.add_option("--config", cmd.configPath,
                   "configuration file (default " + std::string(kDefaultConfig) + ")")
            ->type_name("FILE");
    options.reserve(optionDefs().size());
    for (const auto &def : optionDefs())
        options.push_back({ &def, {} });
    for (auto &opt : options) {
        auto *o = app.add_option("--" + std::string(opt.def->name), opt.values,
                                 std::string(opt.def->help))
                          ->type_name(std::string(opt.def->typeName))
                          ->allow_extra_args(false);
        if (opt.def->repeatable)
            o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
}

} // namespace

CommandLine parseCommandLine(int argc, const char *const *argv)
{
    CommandLine cmd;
    for (int i = 1; i < argc; ++i)
        cmd.args.emplace_back(argv[i]);

    CLI::App app("pisockd: a TCP reply, echo and chat server for the Raspberry Pi", "pisockd");
    std::vector<CliOption> options;
    buildApp(app, cmd, options);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForVersion &e) {
        std::puts(e.what());
        cmd.exitNow = true;
    } catch (const CLI::Success &) {
        std::fputs(app.help().c_str(), stdout);
        cmd.exitNow = true;
    } catch (const CLI::ParseError &e) {
        throw OptionError(kExitUsage, std::string(e.what()) + " (see pisockd --help)");
    }
    cmd.configGiven = app.count("--config") > 0;
    return cmd;
}

namespace {

void applyConfigFile(Settings &s, const CommandLine &cmd, bool requireFile)
{
    const std::optional<std::string> text = readConfigFile(cmd.configPath);
    if (!text) {
        // No file at the default place: built-in defaults, unless one was read before.
        if (!cmd.configGiven && !requireFile)
            return;
        throw OptionError(kExitConfig,
                          fmt::format("{}: cannot open: {}", cmd.configPath, errnoText(ENOENT)));
    }
    applyConfigText(s, *text, cmd.configPath);
    s.fromFile = true;
}

// The listen addresses seen so far, by socket (port 0 excepted: each asks for a port of its
// own). Linear in the number of addresses, whatever a file lists.
class SocketSet
{
public:
    // The index of an earlier address with the same socket as endpoint, which is number index.
    std::optional<std::size_t> add(const Endpoint &endpoint, std::size_t index)
    {
        if (endpoint.kind == Endpoint::Kind::Inet && endpoint.port == 0)
            return std::nullopt;
        const auto [it, added] = seen_.emplace(socketKey(endpoint), index);
        return added ? std::nullopt : std::optional<std::size_t>(it->second);
    }

private:
    std::unordered_map<std::string, std::size_t> seen_;
};

void checkSettings(const Settings &s)
{
    if (s.lowWater >= s.highWater)
        throw OptionError(kExitUsage, fmt::format("low-water ({}) must be below high-water ({})",
                                                  s.lowWater, s.highWater));
}

} // namespace

void applyConfigText(Settings &s, std::string_view text, const std::string &name)
{
    std::vector<std::string_view> seen;
    std::vector<std::pair<unsigned, std::string>> listenLines; // as written, for the error
    SocketSet sockets;
    for (const ConfigEntry &entry : parseConfigText(text, name)) {
        auto fail = [&](const std::string &why) {
            return OptionError(kExitConfig, fmt::format("{}:{}: {}", name, entry.line, why));
        };
        std::string key = entry.key;
        std::replace(key.begin(), key.end(), '_', '-');
        const OptionDef *def = findOption(key);
        if (!def)
            throw fail(fmt::format("unknown key '{}'", key));
        if (!def->repeatable && std::find(seen.begin(), seen.end(), def->name) != seen.end())
            throw fail(fmt::format("{}: given twice", key));
        seen.push_back(def->name);
        if (auto why = def->apply(s, entry.value); !why.empty())
            throw fail(fmt::format("{}: {}", key, why));
        if (def->name != "listen")
            continue;
        listenLines.emplace_back(entry.line, entry.value);
        if (const auto earlier = sockets.add(s.listen.back(), listenLines.size() - 1))
            throw fail(fmt::format("listen: '{}' is the same socket as '{}' on line {}",
                                   entry.value, listenLines[*earlier].second,
                                   listenLines[*earlier].first));
    }
}

Settings loadSettings(const CommandLine &cmd, bool requireFile)
{
    Settings s;
    applyConfigFile(s, cmd, requireFile);

    // The command line wins: parse it again, apply what it gave over the file's values.
    CommandLine again;
    CLI::App app;
    std::vector<CliOption> options;
    buildApp(app, again, options);
    std::vector<std::string> reversed(cmd.args.rbegin(), cmd.args.rend());
    app.parse(reversed);
    for (auto &opt : options) {
        if (opt.values.empty())
            continue;
        if (opt.def->repeatable)
            clearList(s, opt.def->name);
        for (const auto &v : opt.values)
            if (auto why = opt.def->apply(s, v); !why.empty())
                throw OptionError(kExitUsage, fmt::format("--{}: {}", opt.def->name, why));
        if (opt.def->name != "listen")
            continue;
        SocketSet sockets;
        for (std::size_t i = 0; i < s.listen.size(); ++i)
            if (const auto earlier = sockets.add(s.listen[i], i))
                throw OptionError(kExitUsage,
                                  fmt::format("--listen: '{}' and '{}' are the same socket",
                                              opt.values[*earlier], opt.values[i]));
    }
    checkSettings(s);
    return s;
}

} // namespace pisock
