#include "options.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <unistd.h>
#include <utility>

#include <CLI/CLI.hpp>

#include "common/closest_word.h"
#include "common/duration.h"
#include "common/help_format.h"
#include "common/room_names.h"
#include "common/units.h"
#include "i18n.h"
#include "version.h"
#include "ws_client.h"

namespace pisock {

namespace {

std::optional<Endpoint> hostAndPort(std::string host, std::string_view portText, std::string &error)
{
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty() || host.starts_with("unix:") ||
        (host.find(':') != std::string::npos && host.find(':') == host.rfind(':'))) {
        error = trf("'{host}' is not a host name or address (give the port once)",
                    fmt::arg("host", host));
        return std::nullopt;
    }
    const auto port = parsePort(portText);
    if (!port || *port == 0) {
        error = trf("invalid port '{port}'", fmt::arg("port", portText));
        return std::nullopt;
    }
    return Endpoint{ Endpoint::Kind::Inet, std::move(host), *port, {} };
}

std::optional<Endpoint> oneArgument(const std::string &text, std::string &error)
{
    if (text.starts_with("ws://") || text.starts_with("wss://"))
        return parseWsUrl(text, error);
    const auto colons = std::count(text.begin(), text.end(), ':');
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    if (text.starts_with("unix:") || (text.starts_with('[') && text.find("]:") != text.npos) ||
        colons == 1 || digits) {
        auto ep = parseEndpoint(text, error);
        if (!ep)
            return std::nullopt;
        if (ep->kind == Endpoint::Kind::Inet && ep->port == 0) {
            error = tr("port 0 is not a port to connect to");
            return std::nullopt;
        }
        if (ep->kind == Endpoint::Kind::Inet && ep->host.empty())
            ep->host = kDefaultHost;
        return ep;
    }
    // A name, an IPv4 address, a bare IPv6 address or "[IPv6]": the default port.
    return hostAndPort(text, std::to_string(kDefaultPort), error);
}

// The command line as text, checked and converted by applyValues().
struct Arguments {
    std::string host;
    std::string port;
    std::string framing;
    std::string timeout;
    bool ipv4 = false;
    bool ipv6 = false;
};

// CLI11's own words in --help, and the group names, in the user's language.
void translateHelp(CLI::App &app)
{
    app.formatter(std::make_shared<HelpFormatter>());
    const auto formatter = app.get_formatter();
    formatter->label("Usage", tr("Usage"));
    formatter->label("OPTIONS", tr("OPTIONS"));
    formatter->label("SUBCOMMAND", tr("SUBCOMMAND"));
    formatter->label("Positionals", tr("Positionals"));
    formatter->label("REQUIRED", tr("REQUIRED"));
    app.option_defaults()->group(tr("Options"));
    app.set_help_flag("-h,--help", tr("print this help and exit"));
}

// The options that exclude each other and were both given, as "A and B".
std::string excludedPair(const CLI::App &app)
{
    const std::pair<const char *, const char *> pairs[] = {
        { "-4", "-6" },
        { "--raw", "--framing" },
        { "--raw", "--no-replies" },
        { "--message", "--raw" },
        { "--listen-only", "--message" },
        { "--listen-only", "--raw" },
        { "--listen-only", "--no-replies" },
        { "--ca", "--insecure" },
    };
    for (const auto &[a, b] : pairs)
        if (app.count(a) > 0 && app.count(b) > 0)
            return trf("{first} and {second} cannot be used together", fmt::arg("first", a),
                       fmt::arg("second", b));
    return {};
}

// The first argument that looks like an option CLI11 did not know, said with the one meant:
// "unknown option --mdoe (did you mean --mode?)"; nothing if no argument looks like one.
std::optional<std::string> unknownOption(const CLI::App &app)
{
    std::vector<std::string> names;
    for (const CLI::Option *opt : app.get_options())
        for (const auto &name : opt->get_lnames())
            names.push_back(name);
    for (const auto &arg : app.remaining(true)) {
        if (!arg.starts_with('-') || arg == "-")
            continue;
        const std::string option = arg.substr(0, arg.find('='));
        if (const auto meant = meantOption(option, names))
            return trf("unknown option {option} (did you mean {meant}?)",
                       fmt::arg("option", option), fmt::arg("meant", *meant));
        return trf("unknown option {option} (see pisock --help)", fmt::arg("option", option));
    }
    return std::nullopt;
}

// A command line CLI11 refused, in one line: in the user's language where pisock knows what
// went wrong, else CLI11's own words.
std::string usageError(const CLI::App &app, const CLI::ParseError &e)
{
    std::string what;
    if (dynamic_cast<const CLI::ExtrasError *>(&e)) {
        if (auto unknown = unknownOption(app))
            return *unknown;
        std::string extras;
        for (const auto &arg : app.remaining(true))
            extras += (extras.empty() ? "" : " ") + arg;
        what = trf("unexpected argument: {arguments}", fmt::arg("arguments", extras));
    } else if (dynamic_cast<const CLI::ExcludesError *>(&e)) {
        what = excludedPair(app);
    } else if (dynamic_cast<const CLI::RequiresError *>(&e)) {
        what = tr("--reconnect needs --listen-only");
    }
    if (what.empty())
        what = e.what();
    return trf("{error} (see pisock --help)", fmt::arg("error", what));
}

// --listen-only and --reconnect, after --message, --raw and --no-replies.
void addListenOptions(CLI::App &app, ClientOptions &o)
{
    auto *listenOnly = app.add_flag(
            "-l,--listen-only", o.listenOnly,
            tr("read nothing, send nothing, print what arrives (a broadcast server); a close "
               "pisock did not ask for is an error"));
    auto *reconnect = app.add_flag(
            "--reconnect", o.reconnect,
            tr("with --listen-only: when the connection ends or cannot be made, try again after "
               "1s, doubling to 30s"));
    listenOnly->excludes(app.get_option("--message"));
    listenOnly->excludes(app.get_option("--raw"));
    listenOnly->excludes(app.get_option("--no-replies"));
    reconnect->needs(listenOnly);
}

// --tls and what goes with it (client/tls.h). --ca and --insecure also go with a wss:// URL,
// which applyValues() checks: CLI11's needs() knows options only.
void addTlsOptions(CLI::App &app, TlsOptions &t)
{
    app.add_flag("--tls", t.enabled,
                 tr("TLS to a front end that terminates it for pisockd (stunnel, HAProxy); the "
                    "server's certificate is verified (a wss:// URL implies it)"));
    app.add_option("--ca", t.caFile,
                   tr("with --tls or wss://: trust the certificates in this PEM file instead of "
                      "the system's (a Pi's own certificate)"))
            ->type_name("FILE");
    app.add_flag("--insecure", t.insecure,
                 tr("with --tls or wss://: do not verify the server's certificate (encrypted, "
                    "but anyone could be at the other end)"))
            ->excludes("--ca");
}

void buildApp(CLI::App &app, ClientOptions &o, Arguments &a)
{
    translateHelp(app);
    app.set_version_flag("--version", std::string("pisock ") + kVersion,
                         tr("print the version and exit"));
    app.footer(tr(
            R"(Addresses: HOST, HOST PORT, HOST:PORT, [IPV6]:PORT, PORT (on localhost),
unix:/PATH. On a terminal pisock prompts and keeps a history; otherwise it
sends every line of its input without waiting and prints the replies in order.
For a pisockd in broadcast mode (a chat: the sender gets nothing back) add
--no-replies, or --listen-only to only listen.

Exit status: 0 all replies received, 1 network error (refused, reset, unknown
host), 2 usage, 3 timeout, 4 the server closed the connection before all
replies or without being asked (no quit), 5 a wrong reply (pisock bench),
6 the server sent an "error:" line (a message refused, or why it closed),
130 interrupted (Ctrl-C).
)"));
    app.add_option("host", a.host,
                   tr("name or address, HOST:PORT, [IPV6]:PORT or unix:/PATH (default localhost)"))
            ->type_name("");
    app.add_option("port", a.port, tr("port (default 8888)"))->type_name("");
    app.add_option("-m,--message", o.messages,
                   tr("send this message and print its reply, repeatable; no stdin"))
            ->type_name("TEXT")
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    auto *raw = app.add_flag("--raw", o.raw,
                             tr("byte pipe to an echo server, like nc -N: stdin to the server, "
                                "everything back to stdout"));
    auto *noReplies = app.add_flag(
            "--no-replies", o.noReplies,
            tr("expect no replies (a broadcast server): send, print whatever arrives, end when "
               "the server closes; --timeout bounds the wait for that after the end of input"));
    addListenOptions(app, o);
    app.add_flag("--hex", o.hex, tr("show what arrives as a hex dump (like hexdump -C)"));
    app.add_option("--name", o.name,
                   tr("broadcast mode: be NAME to the others instead of your address and port "
                      "(sends \"name: NAME\" first)"))
            ->type_name("NAME");
    auto *fr = app.add_option("--framing", a.framing,
                              tr("line: a reply ends at \\n, messages are pipelined; raw: each "
                                 "read is a reply, one message at a time (default line)"))
                       ->type_name("line|raw");
    app.add_option("--timeout", a.timeout,
                   tr("time allowed for the connection and for each reply: seconds, or with a "
                      "unit (5, 0.5, 250ms, 2m; default: no limit)"))
            ->type_name("DURATION");
    addTlsOptions(app, o.tls);
    auto *v4 = app.add_flag("-4", a.ipv4, tr("IPv4 addresses only"));
    auto *v6 = app.add_flag("-6", a.ipv6, tr("IPv6 addresses only"));
    v4->excludes(v6);
    raw->excludes(fr);
    raw->excludes(noReplies);
    app.get_option("--message")->excludes(raw);
}

void applyValues(const CLI::App &app, ClientOptions &o, const Arguments &a)
{
    const std::string &framing = a.framing;
    const std::string &timeout = a.timeout;
    if (app.count("--framing")) {
        if (framing == "line")
            o.framing = Framing::Line;
        else if (framing == "raw")
            o.framing = Framing::Raw;
        else
            throw UsageError(trf("--framing: '{value}' is not one of line, raw",
                                 fmt::arg("value", framing)));
    }
    if (app.count("--timeout")) {
        const auto t = parseTimeout(timeout);
        if (!t)
            throw UsageError(trf("--timeout: '{value}' is not a duration up to a day (e.g. 5, "
                                 "0.5, 250ms, 2m)",
                                 fmt::arg("value", timeout)));
        if (t->count() > 0)
            o.timeout = *t;
    }
    if (app.count("--name")) {
        if (const std::string_view problem = nameProblem(o.name); !problem.empty())
            throw UsageError(trf("--name: '{value}' cannot be used: 1 to 32 letters, digits, "
                                 "'-', '_' or '.', and not an address",
                                 fmt::arg("value", o.name)));
    }
    if (a.ipv4)
        o.family = AF_INET;
    if (a.ipv6)
        o.family = AF_INET6;
    std::string error;
    std::vector<std::string> target;
    if (app.count("host"))
        target.push_back(a.host);
    if (app.count("port"))
        target.push_back(a.port);
    auto ep = parseTarget(target, error);
    if (!ep)
        throw UsageError(error);
    if (ep->kind == Endpoint::Kind::Unix && o.family != AF_UNSPEC)
        throw UsageError(tr("-4 and -6 do not apply to a unix socket"));
    if (ep->secure)
        o.tls.enabled = true;
    if ((app.count("--ca") > 0 || o.tls.insecure) && !o.tls.enabled)
        throw UsageError(tr("--ca and --insecure go with --tls or a wss:// URL"));
    o.endpoint = std::move(*ep);
}

// `pisock bench` and its options, as text where they need checking.
struct BenchArguments {
    std::string host;
    std::string port;
    std::string mode = "line";
    std::string duration;
    std::string warmup;
    std::string timeout;
    bool noProgress = false;
};

CLI::App *addBenchCommand(CLI::App &app, BenchOptions &o, BenchArguments &a)
{
    auto *bench = app.add_subcommand(
            "bench", tr("load generator: many connections, pipelined messages, every reply "
                        "checked; prints msgs/s, MiB/s and latency percentiles"));
    bench->group(tr("Subcommands"));
    bench->set_help_flag("-h,--help", tr("print this help and exit"));
    bench->add_option("host", a.host, tr("server (default 127.0.0.1), as for pisock itself"))
            ->type_name("");
    bench->add_option("port", a.port, tr("port (default 8888)"))->type_name("");
    bench->add_option("-c,--connections", o.connections, tr("connections (default 50)"))
            ->type_name("N")
            ->check(CLI::Range(1u, 100000u));
    bench->add_option("-s,--size", o.size,
                      tr("message size in bytes, without the newline (default 64)"))
            ->type_name("BYTES")
            ->check(CLI::Range(std::size_t{ 1 }, 16 * kMiB));
    bench->add_option("-P,--pipeline", o.pipeline,
                      tr("messages in flight per connection (default 1)"))
            ->type_name("N")
            ->check(CLI::Range(1u, 100000u));
    bench->add_option("-d,--duration", a.duration,
                      tr("measured time after the warm-up (default 10s)"))
            ->type_name("DURATION");
    bench->add_option("-n,--count", o.count, tr("measured messages instead of a duration"))
            ->type_name("N")
            ->check(CLI::Range(std::uint64_t{ 1 }, std::uint64_t{ 1000000000000 }));
    bench->add_option("--warmup", a.warmup, tr("load not measured first (default 1s)"))
            ->type_name("DURATION");
    bench->add_option(
                 "--mode", a.mode,
                 tr(R"(line: expect "<prefix>M\n" replies; echo: expect the bytes back (default line))"))
            ->type_name("line|echo");
    bench->add_option("--prefix", o.prefix,
                      tr("reply prefix in line mode (default \"server rec: \")"))
            ->type_name("TEXT");
    bench->add_option("--timeout", a.timeout,
                      tr("a connection with no reply this long is an error (default 5s)"))
            ->type_name("DURATION");
    bench->add_flag("--json", o.json, tr("print one JSON object instead of the report"));
    bench->add_flag("--no-progress", a.noProgress, tr("no progress line, even on a terminal"));
    return bench;
}

double benchSeconds(const std::string &text, const char *option, double max)
{
    const auto t = parseTimeout(text);
    if (!t || std::chrono::duration<double>(*t).count() > max)
        throw UsageError(trf("{option}: '{value}' is not a duration (e.g. 10, 0.5, 250ms, 2m)",
                             fmt::arg("option", option), fmt::arg("value", text)));
    return std::chrono::duration<double>(*t).count();
}

void applyBenchValues(const CLI::App &bench, BenchOptions &o, const BenchArguments &a)
{
    if (a.mode == "echo")
        o.mode = BenchOptions::Mode::Echo;
    else if (a.mode != "line")
        throw UsageError(
                trf("bench --mode: '{value}' is not one of line, echo", fmt::arg("value", a.mode)));
    // Bounded in time as in count: an hour of load at most.
    if (bench.count("--duration"))
        o.durationSec = benchSeconds(a.duration, "bench --duration", 3600);
    if (bench.count("--warmup"))
        o.warmupSec = benchSeconds(a.warmup, "bench --warmup", 600);
    if (bench.count("--timeout"))
        o.timeoutSec = benchSeconds(a.timeout, "bench --timeout", 600);
    if (o.timeoutSec <= 0)
        throw UsageError(tr("bench --timeout must be more than 0"));
    if (o.prefix.find('\n') != std::string::npos)
        throw UsageError(tr("bench --prefix must not contain a newline"));
    o.progress = !o.json && !a.noProgress && ::isatty(STDERR_FILENO);
    std::vector<std::string> target;
    if (bench.count("host"))
        target.push_back(a.host);
    if (bench.count("port"))
        target.push_back(a.port);
    std::string error;
    auto ep = target.empty() ? std::optional(o.target) : parseTarget(target, error);
    if (!ep)
        throw UsageError(trf("bench: {error}", fmt::arg("error", error)));
    if (ep->secure)
        throw UsageError(tr("bench: wss:// is not measured (no TLS in the load generator); "
                            "measure the ws:// listener behind the proxy"));
    o.target = std::move(*ep);
}

} // namespace

std::optional<std::chrono::milliseconds> parseTimeout(std::string_view text)
{
    const auto t = parseDuration(text);
    if (!t || *t > std::chrono::hours(24))
        return std::nullopt; // a day is plenty; beyond it, poll()'s int would overflow
    return t;
}

std::string formatDuration(std::chrono::milliseconds duration)
{
    const auto ms = duration.count();
    if (ms < 1000 || ms % 100 != 0)
        return std::to_string(ms) + "ms";
    return std::to_string(ms / 1000) + (ms % 1000 ? "." + std::to_string(ms % 1000 / 100) : "") +
           "s";
}

std::optional<Endpoint> parseTarget(const std::vector<std::string> &args, std::string &error)
{
    switch (args.size()) {
    case 0:
        return Endpoint{ Endpoint::Kind::Inet, kDefaultHost, kDefaultPort, {} };
    case 1:
        return oneArgument(args[0], error);
    case 2:
        return hostAndPort(args[0], args[1], error);
    default:
        error = tr("too many arguments: give HOST [PORT]");
        return std::nullopt;
    }
}

CommandLine parseCommandLine(int argc, const char *const *argv)
{
    CommandLine cmd;
    CLI::App app(tr("pisock: talk to a pisockd (or any line or echo server) by hand or from "
                    "scripts"),
                 "pisock");
    Arguments arguments;
    buildApp(app, cmd.options, arguments);
    BenchArguments benchArguments;
    CLI::App *bench = addBenchCommand(app, cmd.benchOptions, benchArguments);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForVersion &e) {
        std::puts(e.what());
        cmd.exitNow = true;
        return cmd;
    } catch (const CLI::Success &) {
        std::fputs((bench->count() > 0 ? bench->help() : app.help()).c_str(), stdout);
        cmd.exitNow = true;
        return cmd;
    } catch (const CLI::ParseError &e) {
        throw UsageError(usageError(app, e));
    }
    if (bench->parsed()) {
        cmd.bench = true;
        applyBenchValues(*bench, cmd.benchOptions, benchArguments);
        return cmd;
    }
    applyValues(app, cmd.options, arguments);
    return cmd;
}

} // namespace pisock
