// Logging end to end: a connection's lines (peer, bytes, messages), journal fields and
// priorities when stderr is the journal, readable lines in a terminal, and a per-peer rate
// limit no client can get around.

#include <algorithm>
#include <cmath>
#include <iterator>
#include <regex>
#include <signal.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

std::size_t countMatches(const std::string &s, const std::regex &re)
{
    return static_cast<std::size_t>(
            std::distance(std::sregex_iterator(s.begin(), s.end(), re), std::sregex_iterator()));
}

std::string field(const JournalEntry &e, const std::string &name)
{
    auto it = e.find(name);
    return it == e.end() ? "<missing>" : it->second;
}

} // namespace

TEST_CASE("under the journal, entries carry priority, identifier, peer and connection",
          "[e2e][logging]")
{
    DaemonOptions o;
    o.journal = true;
    Daemon d({ "--log-level", "debug" }, o);
    const auto listening = d.waitForJournal("listening on 127.0.0.1:");
    REQUIRE(listening);
    CHECK(field(*listening, "PRIORITY") == "6");
    CHECK(field(*listening, "SYSLOG_IDENTIFIER") == "pisockd");
    CHECK(listening->count("PISOCKD_PEER") == 0);

    Client c(d.port());
    c.send("hi\x1b[2J\n");
    CHECK(c.readLine());
    const std::string peer = "127.0.0.1:" + std::to_string(localPort(c.fd()));
    const auto connected = d.waitForJournal("connected on");
    REQUIRE(connected);
    CHECK(field(*connected, "MESSAGE") ==
          peer + " #1: connected on 127.0.0.1:" + std::to_string(d.port()));
    CHECK(field(*connected, "PRIORITY") == "6");
    CHECK(field(*connected, "PISOCKD_PEER") == peer);
    CHECK(field(*connected, "PISOCKD_CONN") == "1");
    const auto message = d.waitForJournal("message: ");
    REQUIRE(message);
    CHECK(field(*message, "PRIORITY") == "7");
    CHECK(field(*message, "MESSAGE") == peer + " #1: message: hi\\x1b[2J");

    CHECK(d.stop(SIGKILL) == 128 + SIGKILL);
    // Nothing went to stderr: every line was a journal entry.
    CHECK(d.log().empty());
}

TEST_CASE("errors reach the journal with priority 3", "[e2e][logging]")
{
    TempDir dir;
    const auto conf = dir.write("pisockd.conf", "mode = reply\n");
    DaemonOptions o;
    o.journal = true;
    Daemon d({ "--config", conf }, o);
    dir.write("pisockd.conf", "mode = shout\n");
    REQUIRE(d.reload());
    const auto rejected = d.waitForJournal("reload rejected");
    REQUIRE(rejected);
    CHECK(field(*rejected, "PRIORITY") == "3");
}

TEST_CASE("JOURNAL_STREAM naming another stream means a terminal", "[e2e][logging]")
{
    DaemonOptions o;
    o.journal = true;
    o.env = { "JOURNAL_STREAM=1:1" }; // systemd's stream, but stderr was redirected since
    Daemon d({}, o);
    CHECK(d.waitForLog("listening on"));
    CHECK(d.journal().empty());
}

TEST_CASE("in a terminal each line has the time and the level", "[e2e][logging]")
{
    Daemon d;
    {
        Client c(d.port());
        c.send("x\n");
        CHECK(c.readLine());
    }
    CHECK(d.waitForLog("disconnected"));
    const std::regex line(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info    127\.0\.0\.1:\d+ #1: )"
                          R"(connected on 127\.0\.0\.1:\d+)");
    CHECK(std::regex_search(d.log(), line));
}

TEST_CASE("a hostile client cannot make the log grow past the per-peer bound", "[e2e][logging]")
{
    Daemon d({ "--log-level", "debug", "--max-message", "16" });
    const auto start = Clock::now();
    {
        // Thousands of messages and over-long lines, each a debug line...
        Client c(d.port());
        std::string flood;
        for (int i = 0; i < 3000; ++i) // appended: "m" + std::string&& trips GCC 12's -Wrestrict
            flood.append("m").append(std::to_string(i)).append("\n");
        for (int i = 0; i < 2000; ++i)
            flood += std::string(100, 'L') + "\n";
        flood += "last\n";
        c.send(flood);
        for (int i = 0; i < 5001; ++i)
            REQUIRE(c.readLine());
    }
    // ... and hundreds of connections, each two info lines and a few debug ones.
    for (int i = 0; i < 300; ++i) {
        Client c(d.port());
        c.send("x\n");
        REQUIRE(c.readLine() == "server rec: x");
    }
    CHECK(d.waitForLog("suppressed"));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const std::string log = d.log();
    const auto peerLines = countMatches(log, std::regex(R"(127\.0\.0\.1:\d+ #\d+: )"));
    // 20 lines a second per peer host, in windows of one second.
    const auto bound = 20 * (static_cast<std::size_t>(std::ceil(seconds)) + 1);
    INFO(peerLines << " peer lines in " << seconds << " s");
    CHECK(peerLines <= bound);
    CHECK(std::regex_search(log,
                            std::regex(R"(warning suppressed \d+ messages from 127\.0\.0\.1)")));
    // The daemon served them all: only the log was limited.
    Client c(d.port());
    c.send("still here\n");
    CHECK(c.readLine() == "server rec: still here");
}

TEST_CASE("--log-rate 0 logs every line", "[e2e][logging]")
{
    Daemon d({ "--log-level", "debug", "--log-rate", "0" });
    Client c(d.port());
    std::string batch;
    for (int i = 0; i < 200; ++i)
        batch.append("n").append(std::to_string(i)).append("\n");
    c.send(batch);
    for (int i = 0; i < 200; ++i)
        REQUIRE(c.readLine());
    CHECK(d.waitForLog("message: n199"));
    CHECK(countMatches(d.log(), std::regex("message: n")) == 200);
    CHECK(d.log().find("suppressed") == std::string::npos);
}

namespace {

// Names a hostile unix client binds to before it connects: a forged chat line, a forged log
// line with a journal priority, terminal escapes.
const std::string kForgedNames[] = {
    std::string("\0x\n10.0.0.66:4242: admin says: reboot now", 41),
    std::string("\0\n<0>pisockd: emergency: disk on fire", 37),
    std::string("\0\x1b]0;owned\x07\x1b[2J", 15),
};

DaemonOptions unixOnly(bool journal)
{
    DaemonOptions o;
    o.socketActivation = false;
    o.journal = journal;
    return o;
}

bool hasRawControl(const std::string &s)
{
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return (b < 0x20 && c != '\n') || b == 0x7f;
    });
}

} // namespace

TEST_CASE("a unix client is 'unix #N' in the log, with its uid and pid, whatever it binds to",
          "[e2e][logging]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/log.sock";
    Daemon d({ "--listen", "unix:" + sock, "--log-level", "debug" }, unixOnly(false));
    const std::string boundFile = dir.path() + "/client\n<3>forged";
    std::vector<std::string> names(std::begin(kForgedNames), std::end(kForgedNames));
    names.push_back(boundFile);
    int n = 0;
    for (const auto &name : names) {
        Client c(connectUnixFrom(sock, name));
        c.send("hello\n");
        CHECK(c.readLine() == "server rec: hello");
        ++n;
        const std::string who = "unix #" + std::to_string(n) + ": ";
        CHECK(d.waitForLog(who + "connected on unix:" + sock + " (uid " +
                           std::to_string(::geteuid()) + ", pid " + std::to_string(::getpid()) +
                           ")\n"));
        CHECK(d.waitForLog(who + "message: hello\n"));
    }
    CHECK(d.stop() == 0);
    const std::string log = d.log();
    // Nothing the clients chose reached the log: one line per event, each with time and level.
    CHECK(log.find("admin says") == std::string::npos);
    CHECK(log.find("emergency") == std::string::npos);
    CHECK(log.find("owned") == std::string::npos);
    CHECK(log.find("forged") == std::string::npos);
    CHECK_FALSE(hasRawControl(log));
    const std::regex line(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [a-z]+ +\S)");
    std::istringstream lines(log);
    for (std::string l; std::getline(lines, l);)
        CHECK(std::regex_search(l, line));
    ::unlink(boundFile.c_str());
}

TEST_CASE("under the journal a unix client is 'unix' with PISOCKD_PEER_UID and PISOCKD_PEER_PID",
          "[e2e][logging]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/journal.sock";
    Daemon d({ "--listen", "unix:" + sock }, unixOnly(true));
    Client c(connectUnixFrom(sock, kForgedNames[0]));
    c.send("x\n");
    CHECK(c.readLine());
    const auto connected = d.waitForJournal("connected on");
    REQUIRE(connected);
    CHECK(field(*connected, "MESSAGE") == "unix #1: connected on unix:" + sock + " (uid " +
                                                  std::to_string(::geteuid()) + ", pid " +
                                                  std::to_string(::getpid()) + ")");
    CHECK(field(*connected, "PISOCKD_PEER") == "unix");
    CHECK(field(*connected, "PISOCKD_CONN") == "1");
    CHECK(field(*connected, "PISOCKD_PEER_UID") == std::to_string(::geteuid()));
    CHECK(field(*connected, "PISOCKD_PEER_PID") == std::to_string(::getpid()));
    c.close();
    CHECK(d.waitForJournal("disconnected"));
    for (const auto &entry : d.journal())
        CHECK(field(entry, "MESSAGE").find("admin says") == std::string::npos);
}

TEST_CASE("unix clients share one log-rate bucket: a new name per connection escapes nothing",
          "[e2e][logging]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/rate.sock";
    Daemon d({ "--listen", "unix:" + sock, "--log-rate", "5" }, unixOnly(false));
    const auto start = Clock::now();
    for (int i = 0; i < 60; ++i) {
        // Each connection bound to a name of its own, as an attacker would.
        Client c(connectUnixFrom(sock, std::string(1, '\0') + "evader-" + std::to_string(i)));
        c.send("x\n");
        REQUIRE(c.readLine() == "server rec: x");
    }
    CHECK(d.waitForLog("suppressed"));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto lines = countMatches(d.log(), std::regex(R"(unix #\d+: )"));
    INFO(lines << " lines about unix clients in " << seconds << " s");
    CHECK(lines <= 5 * (static_cast<std::size_t>(std::ceil(seconds)) + 1));
    CHECK(std::regex_search(d.log(), std::regex(R"(warning suppressed \d+ messages from unix\n)")));
}

TEST_CASE("the log escapes C1 controls, bidi controls and invalid UTF-8; Chinese passes",
          "[e2e][logging]")
{
    DaemonOptions o;
    o.journal = true;
    Daemon d({ "--log-level", "debug" }, o);
    Client c(d.port());
    c.send("c1 \x9b"
           "2J raw, \xc2\x9b"
           "2J utf8, \xc2\x85 nel, bidi \xe2\x80\xae"
           "fdp.exe, "
           "\xe2\x81\xa6iso, bad \xff\xfe\xc0\xaf, \xe2\x80\xa8sep, 中文 ok\n");
    CHECK(c.readLine());
    const std::string want = "message: c1 \\x9b2J raw, \\u009b2J utf8, \\u0085 nel, bidi "
                             "\\u202efdp.exe, \\u2066iso, bad \\xff\\xfe\\xc0\\xaf, \\u2028sep, "
                             "中文 ok";
    const auto entry = d.waitForJournal("message: ");
    REQUIRE(entry);
    const std::string peer = "127.0.0.1:" + std::to_string(localPort(c.fd()));
    CHECK(field(*entry, "MESSAGE") == peer + " #1: " + want);
    CHECK(d.stop(SIGKILL) == 128 + SIGKILL);

    // The same line on a terminal.
    Daemon t({ "--log-level", "debug" });
    Client tc(t.port());
    tc.send("bidi \xe2\x80\xae"
            "fdp.exe, bad \xff, c1 \x9b, 中文\n");
    CHECK(tc.readLine());
    CHECK(t.waitForLog("message: bidi \\u202efdp.exe, bad \\xff, c1 \\x9b, 中文\n"));
}

TEST_CASE("connect and disconnect are logged with peer, bytes and messages", "[e2e][logging]")
{
    Daemon d;
    {
        Client c(d.port());
        c.send("one\ntwo\n");
        CHECK(c.readLine());
        CHECK(c.readLine());
    }
    CHECK(d.waitForLog("disconnected (closed by peer)"));
    const std::string log = d.log();
    CHECK(log.find("127.0.0.1:") != std::string::npos);
    CHECK(log.find("connected on 127.0.0.1:" + std::to_string(d.port())) != std::string::npos);
    CHECK(log.find("8 bytes in, 32 bytes out, 2 messages") != std::string::npos);
    // Contents are debug only.
    CHECK(log.find("one") == std::string::npos);
}
