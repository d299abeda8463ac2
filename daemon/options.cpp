#include "options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bridge_url.h"
#include "common/closest_word.h"
#include "common/duration.h"
#include "common/errors.h"
#include "common/help_format.h"
#include "common/units.h"
#include "config_file.h"
#include "exit_code.h"
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

// A whole number of seconds in parseDuration()'s grammar ("300", "5m", "1h", "2000ms"), up to
// max if one is given.
Apply secondsSetter(unsigned Settings::*field, std::optional<unsigned> max = std::nullopt)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        const auto duration = parseDuration(v);
        if (!duration)
            return fmt::format("'{}' is not a duration (e.g. 30, 30s, 5m, 1h)", v);
        if (duration->count() % 1000 != 0)
            return fmt::format("'{}' is not a whole number of seconds", v);
        const auto seconds = static_cast<unsigned>(duration->count() / 1000);
        if (max && seconds > *max)
            return fmt::format("'{}' is more than {} seconds", v, *max);
        s.*field = seconds;
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

// An absolute file path, or "none" (or nothing) for none.
Apply pathSetter(std::string Settings::*field)
{
    return [=](Settings &s, std::string_view v) -> std::string {
        if (v.empty() || v == "none") {
            (s.*field).clear();
            return {};
        }
        if (v.front() != '/')
            return fmt::format("'{}' is not an absolute path (or none)", v);
        if (v.find('\n') != std::string_view::npos || v.find('\0') != std::string_view::npos)
            return "must not contain a newline or a NUL byte";
        if (v.size() > 100) // sockaddr_un holds 108 bytes
            return "longer than 100 bytes";
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

// --allow: a network, or "lan" (Settings::allowLan).
Apply allowAdder()
{
    Apply network = listAdder(&Settings::allow, parseCidr, false);
    return [network](Settings &s, std::string_view v) -> std::string {
        if (v == "lan") {
            s.allowLan = true;
            return {};
        }
        return network(s, v);
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
    else if (name == "allow") {
        s.allow.clear();
        s.allowLan = false;
    } else if (name == "deny")
        s.deny.clear();
    else if (name == "trusted-proxy")
        s.trustedProxies.clear();
    else if (name == "ws-origin")
        s.wsOrigins.clear();
}

Apply bridgeSetter()
{
    return [](Settings &s, std::string_view v) -> std::string {
        std::string error;
        if (!v.empty() && !parseBridgeUrl(v, error))
            return error;
        s.bridge = v;
        return {};
    };
}

Apply nodeNameSetter()
{
    return [](Settings &s, std::string_view v) -> std::string {
        if (std::string why = nodeNameProblem(v); !v.empty() && !why.empty())
            return why;
        s.nodeName = v;
        return {};
    };
}

std::vector<OptionDef> coreOptionDefs()
{
    return {
        { "mode", "reply|echo|broadcast",
          "reply: answer each message with the prefix; echo: return every byte; broadcast: "
          "send each message to every other client (default reply)",
          oneOf(&Settings::mode, { { "reply", Mode::Reply },
                                   { "echo", Mode::Echo },
                                   { "broadcast", Mode::Broadcast } }) },
        { "framing", "line|raw",
          "line: a message ends at \\n; raw: each read is a message (default line)",
          oneOf(&Settings::framing, { { "line", Framing::Line }, { "raw", Framing::Raw } }) },
        { "reply-prefix", "TEXT", "text put before each reply (default \"server rec: \")",
          textSetter(&Settings::replyPrefix, 4096) },
        { "listen", "ADDR",
          "address to listen on, repeatable: [::]:8888, unix:/path, ws:8080 (WebSocket); "
          "\",proxy\" after it: clients come through a proxy (default [::]:8888)",
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
        { "shutdown-timeout", "DURATION",
          "time given to clients to receive their replies on stop (default 5s)",
          secondsSetter(&Settings::shutdownTimeoutSec) },
        { "log-level", "LEVEL", "error, warning, notice, info or debug (default info)",
          parsedSetter(&Settings::logLevel, log::parseLevel, kLevelNames) },
        { "log-rate", "LINES",
          "lines per second logged about one client address, 0 for no limit (default 20)",
          countSetter(&Settings::logRate, 0U, 100000U) },
        { "idle-timeout", "DURATION", "close a client idle this long; 0: never (default 5m)",
          secondsSetter(&Settings::idleTimeoutSec) },
        { "keepalive", "DURATION",
          "TCP keepalive: probe a silent peer after this long; 0: off (default 60s)",
          secondsSetter(&Settings::keepaliveSec, kMaxKeepaliveSec) },
    };
}

// Who may connect: right after the core options in --help.
std::vector<OptionDef> accessOptionDefs()
{
    return {
        { "allow", "CIDR|lan",
          "serve only these networks, repeatable: 192.168.0.0/16, ::1, or lan: the subnets "
          "of this machine's interfaces, followed as they change (default: all)",
          allowAdder(), true },
        { "deny", "CIDR", "refuse these networks, repeatable; wins over --allow (default: none)",
          listAdder(&Settings::deny, parseCidr, false), true },
        { "trusted-proxy", "CIDR",
          "proxies that may connect to a \",proxy\" listener, repeatable: 127.0.0.1, "
          "10.0.0.0/8 (default: none)",
          listAdder(&Settings::trustedProxies, parseCidr, false), true },
    };
}

// The MQTT bridge of a broadcast room: after the core options in --help.
std::vector<OptionDef> bridgeOptionDefs()
{
    return {
        { "bridge", "URL",
          "broadcast mode: join the room to an MQTT topic through a broker, "
          "mqtt://[USER@]HOST[:PORT]/TOPIC, or mqtts:// for TLS",
          bridgeSetter() },
        { "bridge-password-file", "FILE",
          "the bridge's MQTT password, first line of a file only its owner may read; a bare "
          "name is a systemd credential (LoadCredential=)",
          textSetter(&Settings::bridgePasswordFile, 4096) },
        { "bridge-ca-file", "FILE",
          "mqtts://: the CA certificate (PEM) the broker's is checked against (default: the "
          "system's CAs)",
          textSetter(&Settings::bridgeCaFile, 4096) },
        { "node-name", "NAME",
          "this daemon's name in bridged rooms: NAME/SENDER: M (default, or empty: the host name)",
          nodeNameSetter() },
    };
}

// The options of ws listeners (docs/WEBSOCKET.md): after the bridge's in --help.
std::vector<OptionDef> webSocketOptionDefs()
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

// The live stats and instances sharing a port: after the others in --help.
std::vector<OptionDef> statsOptionDefs()
{
    return {
        { "control-socket", "PATH",
          "unix socket where pisockd --stats asks for the live stats, mode 0660; none: no "
          "socket (default /run/pisockd/control.sock)",
          pathSetter(&Settings::controlSocket) },
        { "metrics-file", "PATH",
          "write the stats in Prometheus text format to this file every 15 s, for "
          "node_exporter's textfile collector (default: none)",
          pathSetter(&Settings::metricsFile) },
        { "reuse-port", "yes|no",
          "SO_REUSEPORT on TCP listeners, so that several instances (pisockd@.service) share "
          "a port; the kernel spreads the clients (default no)",
          oneOf(&Settings::reusePort, { { "yes", true }, { "no", false } }) },
    };
}

// Every option: the core ones, who may connect, the bridge's, the ws listeners', the stats'.
const std::vector<OptionDef> &optionDefs()
{
    static const std::vector<OptionDef> defs = [] {
        std::vector<OptionDef> all = coreOptionDefs();
        for (OptionDef &def : accessOptionDefs())
            all.push_back(std::move(def));
        for (OptionDef &def : bridgeOptionDefs())
            all.push_back(std::move(def));
        for (OptionDef &def : webSocketOptionDefs())
            all.push_back(std::move(def));
        for (OptionDef &def : statsOptionDefs())
            all.push_back(std::move(def));
        return all;
    }();
    return defs;
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

// -p/--port N: --listen N, for those who think "port 8888". Command line only: the file has
// listen = N.
struct PortOption {
    std::vector<std::string> values;
};

void buildApp(CLI::App &app, CommandLine &cmd, std::vector<CliOption> &options, PortOption &port)
{
    app.formatter(std::make_shared<HelpFormatter>());
    app.set_help_flag("-h,--help", "print this help and exit");
    app.set_version_flag("--version", std::string("pisockd ") + kVersion,
                         "print the version and exit");
    app.footer(
            R"(Durations: seconds (30), or with a unit: 250ms, 30s, 5m, 1h.
Sizes: bytes (65536), or with a unit: 64K, 1M, 1G.
Every option is also a key of the configuration file: mode = broadcast.

Exit status:
  0   stopped cleanly; --check found nothing wrong
  64  bad command line
  70  internal error
  71  cannot listen (address in use, permission denied)
  78  bad configuration file)");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_flag("--check", cmd.check,
                 "check the configuration and the listen addresses, then exit");
    auto *stats = app.add_flag("--stats", cmd.stats,
                               "print the running daemon's live stats (from its control-socket), "
                               "then exit");
    app.add_flag("--json", cmd.json, "with --stats: one JSON object instead of text")->needs(stats);
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
    app.add_option("-p,--port", port.values,
                   "short for --listen PORT: listen on [::]:PORT (dual-stack), repeatable")
            ->type_name("PORT")
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// Adds each --port to the --listen values given on the command line, after them.
void addPorts(std::vector<CliOption> &options, const PortOption &port)
{
    if (port.values.empty())
        return;
    for (const std::string &value : port.values) {
        unsigned number = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
            number > 65535)
            throw OptionError(kExitUsage,
                              fmt::format("--port: '{}' is not a port number (0 to 65535; for "
                                          "an address, use --listen)",
                                          value));
    }
    for (auto &opt : options)
        if (opt.def->name == "listen")
            opt.values.insert(opt.values.end(), port.values.begin(), port.values.end());
}

// The long option names, without their dashes.
std::vector<std::string> longNames(const CLI::App &app)
{
    std::vector<std::string> names;
    for (const CLI::Option *opt : app.get_options())
        for (const auto &name : opt->get_lnames())
            names.push_back(name);
    return names;
}

// A command line CLI11 refused, in one line: an unknown option with the one meant, an
// argument that is no option, or CLI11's words.
std::string usageError(const CLI::App &app, const CLI::ParseError &e)
{
    if (dynamic_cast<const CLI::ExtrasError *>(&e)) {
        const auto extras = app.remaining(true);
        for (const auto &arg : extras) {
            if (!arg.starts_with('-') || arg == "-")
                continue;
            const std::string option = arg.substr(0, arg.find('='));
            if (const auto meant = meantOption(option, longNames(app)))
                return fmt::format("unknown option {} (did you mean {}?)", option, *meant);
            return fmt::format("unknown option {} (see pisockd --help)", option);
        }
        if (!extras.empty())
            return fmt::format("unexpected argument '{}': pisockd takes options only (see "
                               "pisockd --help)",
                               extras.front());
    }
    return std::string(e.what()) + " (see pisockd --help)";
}

} // namespace

CommandLine parseCommandLine(int argc, const char *const *argv)
{
    CommandLine cmd;
    for (int i = 1; i < argc; ++i)
        cmd.args.emplace_back(argv[i]);

    CLI::App app("pisockd: a TCP reply, echo and chat server for the Raspberry Pi", "pisockd");
    std::vector<CliOption> options;
    PortOption port;
    buildApp(app, cmd, options, port);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForVersion &e) {
        std::puts(e.what());
        cmd.exitNow = true;
    } catch (const CLI::Success &) {
        std::fputs(app.help().c_str(), stdout);
        cmd.exitNow = true;
    } catch (const CLI::ParseError &e) {
        throw OptionError(kExitUsage, usageError(app, e));
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
    std::optional<std::size_t> add(const ListenAddress &endpoint, std::size_t index)
    {
        if (endpoint.endpoint.kind == Endpoint::Kind::Inet && endpoint.endpoint.port == 0)
            return std::nullopt;
        const auto [it, added] = seen_.emplace(socketKey(endpoint.endpoint), index);
        return added ? std::nullopt : std::optional<std::size_t>(it->second);
    }

private:
    std::unordered_map<std::string, std::size_t> seen_;
};

void checkSettings(const Settings &s)
{
    // A proxy listener nobody may connect to is a mistake, not a policy: say so at start.
    const auto proxyInet = std::find_if(s.listen.begin(), s.listen.end(), [](const auto &l) {
        return l.proxy && l.endpoint.kind == Endpoint::Kind::Inet;
    });
    if (proxyInet != s.listen.end() && s.trustedProxies.empty())
        throw OptionError(kExitUsage,
                          fmt::format("listen {}: a proxy listener needs trusted-proxy (the "
                                      "addresses of the proxies that may connect to it)",
                                      proxyInet->toString()));
    if (s.lowWater >= s.highWater)
        throw OptionError(kExitUsage, fmt::format("low-water ({}) must be below high-water ({})",
                                                  s.lowWater, s.highWater));
    if (!s.bridge.empty() && s.mode != Mode::Broadcast)
        throw OptionError(kExitUsage, "bridge: the bridge joins the broadcast room, and needs "
                                      "mode broadcast");
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
        if (!def) {
            std::vector<std::string> keys;
            for (const auto &d : optionDefs())
                keys.emplace_back(d.name);
            const auto meant = closestWord(key, keys);
            throw fail(meant ? fmt::format("unknown key '{}' (did you mean '{}'?)", key, *meant)
                             : fmt::format("unknown key '{}'", key));
        }
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
    PortOption port;
    buildApp(app, again, options, port);
    std::vector<std::string> reversed(cmd.args.rbegin(), cmd.args.rend());
    app.parse(reversed);
    addPorts(options, port);
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
