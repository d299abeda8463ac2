// Logging end to end: journal fields and priorities when stderr is the journal, readable
// lines in a terminal, and a per-peer rate limit no client can get around.

#include <cmath>
#include <regex>
#include <signal.h>
#include <string>

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
        for (int i = 0; i < 3000; ++i)
            flood += "m" + std::to_string(i) + "\n";
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
        batch += "n" + std::to_string(i) + "\n";
    c.send(batch);
    for (int i = 0; i < 200; ++i)
        REQUIRE(c.readLine());
    CHECK(d.waitForLog("message: n199"));
    CHECK(countMatches(d.log(), std::regex("message: n")) == 200);
    CHECK(d.log().find("suppressed") == std::string::npos);
}
