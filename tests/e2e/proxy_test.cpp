// ",proxy" listeners end to end (docs/PROXY-PROTOCOL.md): PROXY v1 and v2 headers from a
// trusted proxy name the client for the log, the journal, the ACL, the per-host cap and
// broadcast names; health checks are answered quietly; every bad header is refused with a
// log line, within the header timeout, while other clients are served.

#include <cstdint>
#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/common/proxy_v2_util.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using namespace pisock::proxytest;

namespace {

// TCP over IPv4, a.b.c.d:sport -> 127.0.0.1:7000, then tlvs.
std::string v2Tcp4(const std::string &a, std::uint16_t sport, const std::string &tlvs = {})
{
    return v2(0x21, 0x11, a + std::string("\x7F\x00\x00\x01", 4) + be16(sport) + be16(7000) + tlvs);
}

// PP2_TYPE_SSL with PP2_SUBTYPE_SSL_CN.
std::string sslCn(const std::string &cn)
{
    return tlv(0x20, std::string("\x07\x00\x00\x00\x00", 5) + tlv(0x22, cn));
}

const std::string kLocal = v2(0x20, 0x00, {});

std::string v1(const std::string &source, std::uint16_t port)
{
    return "PROXY TCP4 " + source + " 127.0.0.1 " + std::to_string(port) + " 7000\r\n";
}

std::vector<std::string> proxyArgs(std::vector<std::string> more = {})
{
    std::vector<std::string> args{ "--listen", "127.0.0.1:0,proxy", "--trusted-proxy",
                                   "127.0.0.1" };
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// A client of the daemon's proxy listener that sent header (a proxy relaying it).
Client through(std::uint16_t port, const std::string &header)
{
    Client c("127.0.0.1", port);
    c.send(header);
    return c;
}

} // namespace

TEST_CASE("PROXY v1 and v2: the client named by the header is served and logged", "[e2e][proxy]")
{
    Daemon d(proxyArgs(), noActivation());
    const auto port = loggedPort(d);
    REQUIRE(port != 0);
    CHECK(d.log().find("for clients through a proxy (PROXY protocol)") != std::string::npos);

    // The header and the first line in one segment, as a proxy relays them.
    Client one("127.0.0.1", port);
    one.send(v1("203.0.113.7", 41000) + "hello\n");
    CHECK(one.readLine() == "server rec: hello");
    CHECK(d.waitForLog("203.0.113.7:41000 #"));
    CHECK(d.waitForLog("connected on 127.0.0.1:" + std::to_string(port) +
                       " through proxy 127.0.0.1:"));
    CHECK(d.waitForLog("(PROXY v1)"));

    Client two = through(port, v2Tcp4(std::string("\xC6\x33\x64\x09", 4), 5555));
    CHECK(roundTrip(two, "v2"));
    CHECK(d.waitForLog("198.51.100.9:5555 #"));
    CHECK(d.waitForLog("(PROXY v2)"));
    two.close();
    CHECK(d.waitForLog("198.51.100.9:5555 #2: disconnected"));
    // The proxy's own address names no client: one connect line per client, the real one.
    CHECK(countOf(d.log(), "connected on") == 2);
    one.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("the TLS common name a proxy passes is in the log and the journal fields",
          "[e2e][proxy][logging]")
{
    DaemonOptions options = noActivation();
    options.journal = true;
    Daemon d(proxyArgs(), options);
    const auto entry = d.waitForJournal("listening on 127.0.0.1:");
    REQUIRE(entry);
    const std::string message = entry->at("MESSAGE");
    const auto port =
            static_cast<std::uint16_t>(std::stoi(message.substr(message.find("127.0.0.1:") + 10)));

    Client c =
            through(port, v2Tcp4(std::string("\xCB\x00\x71\x05", 4), 6000, sslCn("alice\x1b[2J")));
    CHECK(roundTrip(c, "hi"));
    const auto connected = d.waitForJournal("TLS client alice");
    REQUIRE(connected);
    CHECK(connected->at("PISOCKD_PEER") == "203.0.113.5:6000");
    CHECK(connected->at("PISOCKD_TLS_CN") == "alice\\x1b[2J"); // escaped, never raw
    CHECK(connected->at("PISOCKD_PROXY").starts_with("127.0.0.1:"));
    c.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("through a proxy, --deny and --max-per-host apply to the client the header names",
          "[e2e][proxy][acl]")
{
    Daemon d(proxyArgs({ "--deny", "203.0.113.0/24", "--max-per-host", "1" }), noActivation());
    const auto port = loggedPort(d);

    Client denied = through(port, v1("203.0.113.9", 1000) + "let me in\n");
    bool timedOut = true;
    // Its reason line, as if it came itself.
    CHECK(denied.readToEof(5s, &timedOut) == "error: not allowed\n");
    CHECK_FALSE(timedOut);
    CHECK(d.waitForLog("denied 203.0.113.9:1000 through proxy 127.0.0.1:"));

    Client first = through(port, v1("192.0.2.1", 1001));
    CHECK(roundTrip(first, "first"));
    Client second = through(port, v1("192.0.2.1", 1002)); // same host, from the same proxy
    CHECK(second.readLine() == "error: server busy");
    CHECK(second.waitForEof());
    CHECK(d.waitForLog("refused 192.0.2.1:1002 through proxy 127.0.0.1:"));
    Client other = through(port, v1("192.0.2.2", 1003)); // another host is welcome
    CHECK(roundTrip(other, "other"));
    CHECK(roundTrip(first, "first again"));
    first.close();
    other.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("broadcast through a proxy: names are the clients', a health check never joins",
          "[e2e][proxy][broadcast]")
{
    Daemon d(proxyArgs({ "--mode", "broadcast" }), noActivation());
    const auto port = loggedPort(d);
    Client alice = through(port, v1("192.0.2.10", 2000));
    Client bob = through(port, v2Tcp4(std::string("\xC0\x00\x02\x0B", 4), 2001));
    CHECK(d.waitForLog("192.0.2.11:2001 #2: connected"));

    // HAProxy's check: LOCAL, then a tcp-check send/expect. Answered as in reply mode.
    Client check = through(port, kLocal + "ping\n");
    CHECK(check.readLine() == "server rec: ping");
    Client v1Check = through(port, "PROXY UNKNOWN\r\nping\n");
    CHECK(v1Check.readLine() == "server rec: ping");

    alice.send("hi all\n");
    CHECK(bob.readLine() == "192.0.2.10:2000: hi all");
    bob.send("hello alice\n");
    CHECK(alice.readLine() == "192.0.2.11:2001: hello alice");
    // The checks got nothing of the room, and the room nothing of them.
    CHECK(check.readBytes(1, 300ms).empty());
    check.close();
    v1Check.close();
    CHECK(alice.readBytes(1, 300ms).empty());
    // Not logged at info: no connect or disconnect line names the check's connections.
    CHECK(d.waitForLog("#2: connected"));
    CHECK(d.log().find("#3:") == std::string::npos);
    CHECK(d.log().find("#4:") == std::string::npos);
    alice.close();
    bob.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("every bad header is refused with a log line; other clients are served meanwhile",
          "[e2e][proxy][hostile]")
{
    // A second listener without ",proxy", for the header that does not belong there.
    Daemon d(proxyArgs({ "--listen", "127.0.0.1:0" }), noActivation());
    REQUIRE(d.waitForLog("listening on 127.0.0.1:"));
    const std::string log = d.log();
    const auto proxyPort = loggedPort(d);
    // The plain listener is the other "listening on" line.
    std::uint16_t plainPort = 0;
    for (auto pos = log.find("listening on 127.0.0.1:"); pos != std::string::npos;
         pos = log.find("listening on 127.0.0.1:", pos + 1)) {
        const auto p = static_cast<std::uint16_t>(std::stoi(log.substr(pos + 23)));
        if (p != proxyPort)
            plainPort = p;
    }
    REQUIRE(plainPort != 0);

    Client good = through(proxyPort, v1("192.0.2.50", 3000));
    Client direct(plainPort);
    CHECK(roundTrip(good, "before"));
    CHECK(roundTrip(direct, "before"));

    struct Bad {
        std::string what;
        std::string bytes;
        bool halfClose;
        std::string line; // the reply, "" for none
        std::string logged;
    };
    const std::vector<Bad> cases = {
        { "malformed v1", "PROXY TCP4 192.0.2.1 127.0.0.1 1 2 3\r\n", false,
          "error: PROXY protocol header expected", "refused: " },
        { "an HTTP request", "GET / HTTP/1.1\r\n\r\n", false,
          "error: PROXY protocol header expected", "refused: " },
        { "partial, then the end of the stream", "PROXY TCP4 192.0.2.1 ", true, "",
          "refused: closed in the middle of its PROXY header" },
        { "v2 length past the maximum", kSignature + "\x21\x11\xFF\xFF", false,
          "error: PROXY protocol header expected", "refused: " },
        { "unknown v2 command", v2(0x22, 0x11, std::string(12, '\1')), false,
          "error: PROXY protocol header expected", "refused: " },
    };
    for (const auto &bad : cases) {
        INFO(bad.what);
        const std::size_t before = countOf(d.log(), "refused: ");
        Client c = through(proxyPort, bad.bytes);
        if (bad.halfClose)
            c.shutdownWrite();
        bool timedOut = true;
        const std::string got = c.readToEof(5s, &timedOut);
        CHECK_FALSE(timedOut);
        CHECK(got == (bad.line.empty() ? "" : bad.line + "\n"));
        CHECK(d.waitForLog(bad.logged));
        const auto deadline = Clock::now() + 5s;
        while (countOf(d.log(), "refused: ") == before && Clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        CHECK(countOf(d.log(), "refused: ") == before + 1);
        CHECK(roundTrip(good, "after " + bad.what));
    }

    // A header where none is expected: refused, not served as the proxy's address.
    Client misrouted = through(plainPort, v1("192.0.2.99", 4000) + "hello\n");
    CHECK(misrouted.readToEof() == "error: PROXY protocol header not expected\n");
    CHECK(d.waitForLog("sent a PROXY protocol header to a listener not marked \",proxy\""));
    CHECK(roundTrip(direct, "PROXY as a message is fine")); // not the first bytes

    // Slowloris: a byte now and then never makes a header; closed after the timeout.
    const auto start = Clock::now();
    Client slow = through(proxyPort, "P");
    bool closed = false;
    for (const char byte : std::string("ROXY TCP4 192.0.2.7 127.0.0.1 ")) {
        if (slow.waitForEof(400ms)) {
            closed = true;
            break;
        }
        slow.send(std::string(1, byte));
        CHECK(roundTrip(good, "during the slow header"));
        CHECK(roundTrip(direct, "during the slow header"));
    }
    closed = closed || slow.waitForEof(5s);
    const auto held = Clock::now() - start;
    CHECK(closed);
    CHECK(held >= 2900ms);
    CHECK(held < 5s);
    CHECK(d.waitForLog("refused: no complete PROXY header within 3 s"));
    CHECK(roundTrip(good, "after"));
    good.close();
    direct.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("only --trusted-proxy addresses may connect to a proxy listener", "[e2e][proxy][acl]")
{
    Daemon d({ "--listen", "127.0.0.1:0,proxy", "--trusted-proxy", "127.0.0.2" }, noActivation());
    const auto port = loggedPort(d);
    Client untrusted("127.0.0.1", port, "127.0.0.1");
    untrusted.send(v1("192.0.2.1", 1));
    bool timedOut = true;
    CHECK(untrusted.readToEof(5s, &timedOut).empty());
    CHECK_FALSE(timedOut);
    CHECK(d.waitForLog("refused 127.0.0.1:"));
    CHECK(d.waitForLog("not a trusted proxy (--trusted-proxy)"));
    Client trusted("127.0.0.1", port, "127.0.0.2");
    trusted.send(v1("192.0.2.1", 1));
    CHECK(roundTrip(trusted, "trusted"));
    CHECK(d.waitForLog("192.0.2.1:1 #1: connected on 127.0.0.1:"));
    trusted.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("a proxy listener without --trusted-proxy, or an unknown option, is a usage error",
          "[e2e][proxy][cli]")
{
    const auto noTrust = runProcess({ daemonPath(), "--listen", "127.0.0.1:0,proxy" });
    CHECK(noTrust.status == 64);
    CHECK(noTrust.err.find("a proxy listener needs trusted-proxy") != std::string::npos);
    const auto unknown = runProcess({ daemonPath(), "--listen", "127.0.0.1:0,proxi" });
    CHECK(unknown.status == 64);
    CHECK(unknown.err.find("unknown listener option 'proxi' (known: proxy)") != std::string::npos);
}

TEST_CASE("a socket passed by systemd with FileDescriptorName=proxy is a proxy listener",
          "[e2e][proxy][activation]")
{
    DaemonOptions options;
    options.fdNames = { "proxy" };
    Daemon d({ "--trusted-proxy", "127.0.0.1" }, options);
    CHECK(d.log().find("(socket proxy), for clients through a proxy") != std::string::npos);
    Client c = through(d.port(), v1("192.0.2.77", 7777));
    CHECK(roundTrip(c, "activated"));
    CHECK(d.waitForLog("192.0.2.77:7777 #1: connected on"));
    c.close();
    CHECK(d.stop() == 0);
}
