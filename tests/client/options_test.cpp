#include "client/options.h"

#include "tests/catch.h"

using namespace pisock;
using namespace std::chrono_literals;

namespace {

Endpoint target(std::vector<std::string> args)
{
    std::string error;
    auto ep = parseTarget(args, error);
    INFO(error);
    REQUIRE(ep);
    return *ep;
}

std::string targetError(std::vector<std::string> args)
{
    std::string error;
    CHECK_FALSE(parseTarget(args, error));
    return error;
}

ClientOptions parse(std::vector<const char *> args)
{
    args.insert(args.begin(), "pisock");
    return parseCommandLine(static_cast<int>(args.size()), args.data()).options;
}

} // namespace

TEST_CASE("no address means localhost 8888", "[client][options]")
{
    const auto ep = target({});
    CHECK(ep.kind == Endpoint::Kind::Inet);
    CHECK(ep.host == "localhost");
    CHECK(ep.port == 8888);
}

TEST_CASE("the forms of HOST and PORT", "[client][options]")
{
    CHECK(target({ "pi.local" }).toString() == "pi.local:8888");
    CHECK(target({ "pi.local", "9000" }).toString() == "pi.local:9000");
    CHECK(target({ "pi.local:9000" }).toString() == "pi.local:9000");
    CHECK(target({ "192.0.2.1" }).toString() == "192.0.2.1:8888");
    CHECK(target({ "[2001:db8::1]:9000" }).toString() == "[2001:db8::1]:9000");
    CHECK(target({ "2001:db8::1" }).toString() == "[2001:db8::1]:8888");
    CHECK(target({ "[::1]" }).toString() == "[::1]:8888");
    CHECK(target({ "::1", "9000" }).toString() == "[::1]:9000");
    CHECK(target({ "[::1]", "9000" }).toString() == "[::1]:9000");
    CHECK(target({ "9000" }).toString() == "localhost:9000");
    CHECK(target({ ":9000" }).toString() == "localhost:9000");
    const auto unix = target({ "unix:/run/pisockd.sock" });
    CHECK(unix.kind == Endpoint::Kind::Unix);
    CHECK(unix.path == "/run/pisockd.sock");
}

TEST_CASE("addresses that make no sense are refused with a reason", "[client][options]")
{
    CHECK(targetError({ "host", "http" }) == "invalid port 'http'");
    CHECK(targetError({ "host", "65536" }) == "invalid port '65536'");
    CHECK(targetError({ "host", "0" }) == "invalid port '0'");
    CHECK(targetError({ "host:1", "2" }).find("give the port once") != std::string::npos);
    CHECK(targetError({ "unix:/x", "2" }).find("give the port once") != std::string::npos);
    CHECK(targetError({ "host:" }) == "invalid port ''");
    CHECK(targetError({ "0" }) == "port 0 is not a port to connect to");
    CHECK(targetError({ "unix:" }) == "empty unix socket path");
    CHECK(targetError({ "a", "b", "c" }).starts_with("too many arguments"));
}

TEST_CASE("timeouts take seconds, fractions, ms, minutes and hours, up to a day",
          "[client][options]")
{
    CHECK(parseTimeout("5") == 5000ms);
    CHECK(parseTimeout("0.5") == 500ms);
    CHECK(parseTimeout("1.5s") == 1500ms);
    CHECK(parseTimeout("250ms") == 250ms);
    CHECK(parseTimeout("0") == 0ms);
    CHECK_FALSE(parseTimeout(""));
    CHECK_FALSE(parseTimeout("-1"));
    CHECK_FALSE(parseTimeout("soon"));
    CHECK(parseTimeout("5m") == 300'000ms);
    CHECK(parseTimeout("24h") == 86'400'000ms);
    CHECK_FALSE(parseTimeout("25h"));
    CHECK_FALSE(parseTimeout("1e9"));
    CHECK_FALSE(parseTimeout("100000"));
    CHECK(formatDuration(2000ms) == "2s");
    CHECK(formatDuration(1500ms) == "1.5s");
    CHECK(formatDuration(300ms) == "300ms");
}

TEST_CASE("the command line fills the options", "[client][options]")
{
    auto o = parse({ "-m", "a", "--message", "b c", "--timeout", "2", "-6", "::1", "9000" });
    CHECK(o.messages == std::vector<std::string>{ "a", "b c" });
    CHECK(o.timeout == 2000ms);
    CHECK(o.family == AF_INET6);
    CHECK(o.endpoint.toString() == "[::1]:9000");
    CHECK_FALSE(o.raw);
    CHECK(o.framing == Framing::Line);

    o = parse({ "--raw", "--hex", "host" });
    CHECK(o.raw);
    CHECK(o.hex);
    CHECK_FALSE(o.timeout);

    o = parse({ "--no-replies", "pi.local" });
    CHECK(o.noReplies);
    CHECK_FALSE(o.raw);

    o = parse({ "--framing", "raw", "--timeout", "0" });
    CHECK(o.framing == Framing::Raw);
    CHECK_FALSE(o.timeout); // 0: no limit
}

TEST_CASE("bad command lines throw UsageError", "[client][options]")
{
    CHECK_THROWS_AS(parse({ "--no-such-option" }), UsageError);
    CHECK_THROWS_AS(parse({ "--framing", "words" }), UsageError);
    CHECK_THROWS_AS(parse({ "--timeout", "-3" }), UsageError);
    CHECK_THROWS_AS(parse({ "-4", "-6" }), UsageError);
    CHECK_THROWS_AS(parse({ "--raw", "--framing", "raw" }), UsageError);
    CHECK_THROWS_AS(parse({ "--raw", "-m", "x" }), UsageError);
    CHECK_THROWS_AS(parse({ "--raw", "--no-replies" }), UsageError);
    CHECK_THROWS_AS(parse({ "-6", "unix:/x.sock" }), UsageError);
    CHECK_THROWS_AS(parse({ "a", "b", "c" }), UsageError);
}

TEST_CASE("ws:// URLs name a WebSocket server", "[client][options]")
{
    const auto ep = target({ "ws://pi.local:8080" });
    CHECK(ep.webSocket);
    CHECK(ep.host == "pi.local");
    CHECK(ep.port == 8080);
    CHECK(ep.path == "/");
    CHECK(ep.toString() == "ws:pi.local:8080");
    CHECK(target({ "ws://pi.local" }).port == 80);
    CHECK(target({ "ws://[::1]:9000/chat?room=1" }).host == "::1");
    CHECK(target({ "ws://[::1]:9000/chat?room=1" }).path == "/chat?room=1");
    CHECK(targetError({ "ws://" }) == "'ws://' is not a WebSocket URL");
    CHECK(targetError({ "ws://pi:0" }) == "invalid port '0'");
    CHECK(targetError({ "ws://[::1" }) == "'ws://[::1' is not a WebSocket URL");
    CHECK(targetError({ "ws://pi/a b" }) == "'ws://pi/a b' is not a WebSocket URL");
}

TEST_CASE("wss:// URLs name a WebSocket server behind TLS, and imply --tls", "[client][options]")
{
    const auto ep = target({ "wss://pi.local/chat" });
    CHECK(ep.webSocket);
    CHECK(ep.secure);
    CHECK(ep.port == 443);
    CHECK(ep.path == "/chat");
    CHECK(ep.toString() == "wss:pi.local:443");
    CHECK(target({ "wss://[::1]:8443" }).port == 8443);
    CHECK_FALSE(target({ "ws://pi.local" }).secure);
    CHECK(targetError({ "wss://:8443" }) == "'wss://:8443' is not a WebSocket URL");

    CHECK(parse({ "wss://pi.local:8443" }).tls.enabled);
    CHECK_FALSE(parse({ "ws://pi.local:8080" }).tls.enabled);
    CHECK(parse({ "--ca", "pi.pem", "wss://pi.local" }).tls.caFile == "pi.pem");
    CHECK(parse({ "--insecure", "--tls", "pi.local" }).tls.insecure);
    // --ca and --insecure without TLS: one line saying what they go with.
    try {
        parse({ "--ca", "pi.pem", "ws://pi.local" });
        FAIL("--ca without TLS was accepted");
    } catch (const UsageError &e) {
        CHECK(std::string(e.what()) == "--ca and --insecure go with --tls or a wss:// URL");
    }
    CHECK_THROWS_AS(parse({ "--insecure", "pi.local" }), UsageError);
    try {
        parse({ "--ca", "pi.pem", "--insecure", "--tls" });
        FAIL("--ca with --insecure was accepted");
    } catch (const UsageError &e) {
        CHECK(std::string(e.what()) ==
              "--ca and --insecure cannot be used together (see pisock --help)");
    }
    CHECK_THROWS_AS(
            parseCommandLine(
                    3, std::vector<const char *>{ "pisock", "bench", "wss://pi.local" }.data()),
            UsageError);
}
