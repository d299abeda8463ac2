#include "daemon/options.h"

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

namespace {

CommandLine parse(std::vector<std::string> args)
{
    args.insert(args.begin(), "pisockd");
    std::vector<const char *> argv;
    for (auto &a : args)
        argv.push_back(a.c_str());
    return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

struct ConfFile {
    std::string path;
    explicit ConfFile(const std::string &text)
    {
        char tmpl[] = "/tmp/pisockd-conf-XXXXXX";
        const int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << text;
    }
    ~ConfFile() { std::remove(path.c_str()); }
};

int exitCodeOf(const std::function<void()> &fn)
{
    try {
        fn();
    } catch (const OptionError &e) {
        return e.exitCode();
    }
    return 0;
}

} // namespace

TEST_CASE("defaults match the specification", "[options]")
{
    auto cmd = parse({ "--config", "/nonexistent-but-not-given" });
    cmd.configGiven = false;
    const Settings s = loadSettings(cmd);
    CHECK(s.mode == Mode::Reply);
    CHECK(s.framing == Framing::Line);
    CHECK(s.replyPrefix == "server rec: ");
    CHECK(s.maxMessage == 64 * 1024);
    CHECK(s.listen.empty());
    CHECK(s.maxConnections == 1024);
    CHECK(s.highWater == 1024 * 1024);
    CHECK(s.shutdownTimeoutSec == 5);
}

TEST_CASE("command-line values are parsed", "[options]")
{
    auto cmd = parse({ "--config", "/dev/null", "--mode", "echo", "--framing", "raw",
                       "--max-message", "1K", "--listen", "127.0.0.1:0", "--listen", "[::1]:9000",
                       "--log-level", "debug" });
    const Settings s = loadSettings(cmd);
    CHECK(s.mode == Mode::Echo);
    CHECK(s.framing == Framing::Raw);
    CHECK(s.maxMessage == 1024);
    REQUIRE(s.listen.size() == 2);
    CHECK(s.listen[1].toString() == "[::1]:9000");
    CHECK(s.logLevel == log::Level::Debug);
}

TEST_CASE("the file sets keys and the command line overrides them", "[options]")
{
    ConfFile conf("; comment\n# another\n[pisockd]\nreply_prefix = \"a \\\"quoted\\\" prefix \"\n"
                  "listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\nmax-connections = 7\n");
    const Settings fromFile = loadSettings(parse({ "--config", conf.path }));
    CHECK(fromFile.replyPrefix == "a \"quoted\" prefix ");
    CHECK(fromFile.listen.size() == 2);
    CHECK(fromFile.maxConnections == 7);

    const Settings overridden = loadSettings(
            parse({ "--config", conf.path, "--listen", "127.0.0.1:3", "--max-connections", "9" }));
    REQUIRE(overridden.listen.size() == 1);
    CHECK(overridden.listen[0].endpoint.port == 3);
    CHECK(overridden.maxConnections == 9);
    CHECK(overridden.replyPrefix == "a \"quoted\" prefix ");
}

TEST_CASE("file errors are 78 and name file, line and key", "[options]")
{
    ConfFile conf("mode = reply\nmode = echo\n");
    try {
        loadSettings(parse({ "--config", conf.path }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 78);
        CHECK(std::string(e.what()) == conf.path + ":2: mode: given twice");
    }
    ConfFile section("[other]\n");
    CHECK(exitCodeOf([&] { loadSettings(parse({ "--config", section.path })); }) == 78);
    ConfFile quotes("reply-prefix = \"a\"b\"\n");
    CHECK(exitCodeOf([&] { loadSettings(parse({ "--config", quotes.path })); }) == 78);
}

TEST_CASE("command-line errors are 64", "[options]")
{
    CHECK(exitCodeOf([] { parse({ "--what" }); }) == 64);
    CHECK(exitCodeOf([] { parse({ "--mode" }); }) == 64);
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--framing", "words" }));
          }) == 64);
    CHECK(exitCodeOf([] {
              loadSettings(parse(
                      { "--config", "/dev/null", "--high-water", "8K", "--low-water", "8K" }));
          }) == 64);
}

TEST_CASE("sizes and durations take units", "[options]")
{
    const Settings s = loadSettings(parse({ "--config", "/dev/null", "--high-water", "2M",
                                            "--low-water", "512KiB", "--shutdown-timeout", "1m" }));
    CHECK(s.highWater == 2 * 1024 * 1024);
    CHECK(s.lowWater == 512 * 1024);
    CHECK(s.shutdownTimeoutSec == 60);
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--max-message", "1T" }));
          }) == 64);
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--max-message", "0" }));
          }) == 64);
}

TEST_CASE("limits for hostile clients have defaults and take values", "[options]")
{
    const Settings defaults = loadSettings(parse({ "--config", "/dev/null" }));
    CHECK(defaults.idleTimeoutSec == 300);
    CHECK(defaults.keepaliveSec == 60);
    CHECK(defaults.allow.empty());
    CHECK(defaults.deny.empty());

    const Settings s = loadSettings(
            parse({ "--config", "/dev/null", "--idle-timeout", "0", "--keepalive", "2m", "--allow",
                    "10.0.0.0/8", "--allow", "::1", "--deny", "10.0.0.13" }));
    CHECK(s.idleTimeoutSec == 0);
    CHECK(s.keepaliveSec == 120);
    REQUIRE(s.allow.size() == 2);
    CHECK(s.allow[1].toString() == "::1/128");
    REQUIRE(s.deny.size() == 1);
    CHECK(s.deny[0].toString() == "10.0.0.13/32");
}

TEST_CASE("allow and deny lists from the file are replaced by the command line", "[options]")
{
    ConfFile conf("allow = 127.0.0.0/8\nallow = 192.168.0.0/16\ndeny = 192.168.1.1\n");
    const Settings fromFile = loadSettings(parse({ "--config", conf.path }));
    CHECK(fromFile.allow.size() == 2);
    CHECK(fromFile.deny.size() == 1);
    const Settings s = loadSettings(parse({ "--config", conf.path, "--allow", "10.0.0.0/8" }));
    REQUIRE(s.allow.size() == 1);
    CHECK(s.allow[0].toString() == "10.0.0.0/8");
    CHECK(s.deny.size() == 1); // not given on the command line: the file's list stays
}

TEST_CASE("bad CIDR and keepalive values name the option", "[options]")
{
    try {
        loadSettings(parse({ "--config", "/dev/null", "--allow", "192.168.1.1/24" }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 64);
        CHECK(std::string(e.what()).rfind("--allow: '192.168.1.1/24' has host bits set", 0) == 0);
    }
    ConfFile conf("\ndeny = lan\n");
    try {
        loadSettings(parse({ "--config", conf.path }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 78);
        CHECK(std::string(e.what()).find(":2: deny: 'lan' is not an IPv4") != std::string::npos);
    }
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--keepalive", "10h" }));
          }) == 64);
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--idle-timeout", "soon" }));
          }) == 64);
}

TEST_CASE("broadcast mode and its slow-client policy", "[options]")
{
    auto cmd = parse({ "--config", "/nonexistent-but-not-given" });
    cmd.configGiven = false;
    CHECK(loadSettings(cmd).slowClient == SlowClient::Drop);

    const Settings s = loadSettings(parse(
            { "--config", "/dev/null", "--mode", "broadcast", "--slow-client", "disconnect" }));
    CHECK(s.mode == Mode::Broadcast);
    CHECK(s.slowClient == SlowClient::Disconnect);

    ConfFile conf("mode = broadcast\nslow_client = drop\n");
    CHECK(loadSettings(parse({ "--config", conf.path })).slowClient == SlowClient::Drop);
    try {
        loadSettings(parse({ "--config", "/dev/null", "--slow-client", "wait" }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 64);
        CHECK(std::string(e.what()) == "--slow-client: 'wait' is not one of drop, disconnect");
    }
}

TEST_CASE("one socket listed twice in any spelling is an error: 78 in the file, 64 on the "
          "command line",
          "[options]")
{
    ConfFile conf("listen = 9000\nlisten = 127.0.0.1:0\nlisten = 127.0.0.1:0\n"
                  "listen = [::]:9000\n");
    try {
        loadSettings(parse({ "--config", conf.path }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 78);
        CHECK(std::string(e.what()) ==
              conf.path + ":4: listen: '[::]:9000' is the same socket as '9000' on line 1");
    }
    try {
        loadSettings(parse({ "--config", "/dev/null", "--listen", "*:9000", "--listen",
                             "127.0.0.1:1", "--listen", "[0::0]:9000" }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 64);
        CHECK(std::string(e.what()) == "--listen: '*:9000' and '[0::0]:9000' are the same socket");
    }
    // Not the same socket: [::] then takes IPv6 only.
    CHECK(loadSettings(parse({ "--config", "/dev/null", "--listen", "0.0.0.0:9000", "--listen",
                               "[::]:9000" }))
                  .listen.size() == 2);
    // The command line replaces the file's list: no clash between the two.
    ConfFile one("listen = 9000\n");
    CHECK(loadSettings(parse({ "--config", one.path, "--listen", "[::]:9000" })).listen.size() ==
          1);
}

TEST_CASE("a file read once must be there on reload", "[options]")
{
    auto cmd = parse({ "--config", "/nonexistent-but-not-given" });
    cmd.configGiven = false;
    CHECK_FALSE(loadSettings(cmd).fromFile);
    CHECK(exitCodeOf([&] { loadSettings(cmd, true); }) == 78);
    ConfFile conf("mode = echo\n");
    CHECK(loadSettings(parse({ "--config", conf.path })).fromFile);
}

TEST_CASE("durations in seconds take pisock's grammar: ms, s, m, h, fractions that make whole "
          "seconds",
          "[options]")
{
    const Settings s =
            loadSettings(parse({ "--config", "/dev/null", "--idle-timeout", "1.5m",
                                 "--shutdown-timeout", "2000ms", "--keepalive", "0.5h" }));
    CHECK(s.idleTimeoutSec == 90);
    CHECK(s.shutdownTimeoutSec == 2);
    CHECK(s.keepaliveSec == 1800);
    try {
        loadSettings(parse({ "--config", "/dev/null", "--idle-timeout", "250ms" }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 64);
        CHECK(std::string(e.what()) == "--idle-timeout: '250ms' is not a whole number of seconds");
    }
    try {
        loadSettings(parse({ "--config", "/dev/null", "--keepalive", "10h" }));
        FAIL("no error");
    } catch (const OptionError &e) {
        CHECK(std::string(e.what()) == "--keepalive: '10h' is more than 32767 seconds");
    }
}

TEST_CASE("a listen address takes ,proxy; a proxy listener needs trusted-proxy", "[options]")
{
    std::string error;
    const auto plain = parseListenAddress("[::]:7000", error);
    REQUIRE(plain);
    CHECK_FALSE(plain->proxy);
    const auto proxied = parseListenAddress("[::]:7000,proxy", error);
    REQUIRE(proxied);
    CHECK(proxied->proxy);
    CHECK(proxied->endpoint.port == 7000);
    CHECK(proxied->toString() == "[::]:7000,proxy");
    // A comma may be part of a unix socket path; ",proxy" at its end is the option.
    const auto unix = parseListenAddress("unix:/run/a,b.sock,proxy", error);
    REQUIRE(unix);
    CHECK(unix->proxy);
    CHECK(unix->endpoint.path == "/run/a,b.sock");
    CHECK_FALSE(parseListenAddress("[::]:7000,proxi", error));
    CHECK(error == "unknown listener option 'proxi' (known: proxy)");
    CHECK_FALSE(parseListenAddress("[::]:7000,proxy,proxy", error));
    CHECK(error == "listener option 'proxy' given twice");
    CHECK_FALSE(parseListenAddress("[::]:7000,", error));

    ConfFile conf("listen = 127.0.0.1:7000,proxy\ntrusted-proxy = 127.0.0.1\n"
                  "trusted-proxy = 10.0.0.0/8\n");
    const Settings s = loadSettings(parse({ "--config", conf.path }));
    REQUIRE(s.listen.size() == 1);
    CHECK(s.listen[0].proxy);
    CHECK(s.trustedProxies.size() == 2);
    // The command line replaces the file's list.
    CHECK(loadSettings(parse({ "--config", conf.path, "--trusted-proxy", "::1" }))
                  .trustedProxies.size() == 1);
    // A TCP proxy listener nobody may connect to is an error; a unix one's file decides.
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--listen", "127.0.0.1:0,proxy" }));
          }) == 64);
    CHECK(exitCodeOf([] {
              loadSettings(
                      parse({ "--config", "/dev/null", "--listen", "unix:/tmp/p.sock,proxy" }));
          }) == 0);
    // One socket, with and without ",proxy", is still one socket.
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--trusted-proxy", "127.0.0.1",
                                   "--listen", "127.0.0.1:9,proxy", "--listen", "127.0.0.1:9" }));
          }) == 64);
}

TEST_CASE("ws: listen addresses, ws-origin and ws-page", "[options]")
{
    const Settings defaults = loadSettings(parse({ "--config", "/dev/null" }));
    CHECK(defaults.wsPage);
    CHECK(defaults.wsOrigins.empty());
    const Settings s =
            loadSettings(parse({ "--config", "/dev/null", "--listen", "ws:127.0.0.1:0", "--listen",
                                 "9000", "--listen", "ws:unix:/run/pisockd/ws.sock", "--ws-origin",
                                 "http://pi.local:8080", "--ws-origin", "*", "--ws-page", "no" }));
    REQUIRE(s.listen.size() == 3);
    CHECK(s.listen[0].endpoint.webSocket);
    CHECK(s.listen[0].toString() == "ws:127.0.0.1:0");
    CHECK_FALSE(s.listen[1].endpoint.webSocket);
    CHECK(s.listen[2].endpoint.webSocket);
    CHECK(s.listen[2].endpoint.kind == Endpoint::Kind::Unix);
    CHECK(s.wsOrigins == std::vector<std::string>{ "http://pi.local:8080", "*" });
    CHECK_FALSE(s.wsPage);
    // One socket, whatever it speaks.
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--listen", "ws:9000", "--listen", "9000" }));
          }) == 64);
    for (const char *bad : { "pi.local", "http://", "http://a/b", "ftp://a", "http://a b" })
        CHECK(exitCodeOf([&] {
                  loadSettings(parse({ "--config", "/dev/null", "--ws-origin", bad }));
              }) == 64);
    CHECK(exitCodeOf([] {
              loadSettings(parse({ "--config", "/dev/null", "--ws-page", "maybe" }));
          }) == 64);
    ConfFile file("listen = ws:[::1]:0\nws-origin = https://example.com\nws-page = no\n");
    const Settings f = loadSettings(parse({ "--config", file.path }));
    REQUIRE(f.listen.size() == 1);
    CHECK(f.listen[0].endpoint.webSocket);
    CHECK(f.wsOrigins == std::vector<std::string>{ "https://example.com" });
    CHECK_FALSE(f.wsPage);
    // ws: and ,proxy together: a PROXY header, then the WebSocket handshake.
    std::string error;
    const auto both = parseListenAddress("ws:[::]:8080,proxy", error);
    REQUIRE(both);
    CHECK(both->endpoint.webSocket);
    CHECK(both->proxy);
    CHECK(both->endpoint.port == 8080);
    CHECK(both->toString() == "ws:[::]:8080,proxy");
    const auto wsUnix = parseListenAddress("ws:unix:/run/a,b.sock,proxy", error);
    REQUIRE(wsUnix);
    CHECK(wsUnix->endpoint.webSocket);
    CHECK(wsUnix->proxy);
    CHECK(wsUnix->endpoint.path == "/run/a,b.sock");
}
