#include "daemon/log.h"

#include <string>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("a journal entry about a peer has the message, priority and peer fields", "[log]")
{
    const log::Peer peer{ "192.0.2.1:5000", 42 };
    const auto fields = log::journalFields(log::Level::Info, "connected on [::]:8888", &peer);
    CHECK(fields == std::vector<std::string>{ "MESSAGE=192.0.2.1:5000 #42: connected on [::]:8888",
                                              "PRIORITY=6", "SYSLOG_IDENTIFIER=pisockd",
                                              "PISOCKD_PEER=192.0.2.1:5000", "PISOCKD_CONN=42" });
}

TEST_CASE("a unix client's entry carries its uid and pid", "[log]")
{
    const PeerCred cred{ 4242, 1000, 1000 };
    const log::Peer peer{ "unix", 7, &cred };
    const auto fields =
            log::journalFields(log::Level::Info, "connected on unix:/run/x.sock", &peer);
    CHECK(fields == std::vector<std::string>{ "MESSAGE=unix #7: connected on unix:/run/x.sock",
                                              "PRIORITY=6", "SYSLOG_IDENTIFIER=pisockd",
                                              "PISOCKD_PEER=unix", "PISOCKD_CONN=7",
                                              "PISOCKD_PEER_UID=1000", "PISOCKD_PEER_PID=4242" });
}

TEST_CASE("every field value is escaped: controls, C1, bidi controls, invalid UTF-8", "[log]")
{
    const log::Peer peer{ "x\x1b]0;t\x07\n", 1 };
    const auto fields = log::journalFields(log::Level::Debug,
                                           "message: \x9b"
                                           "2J\xc2\x9b\xe2\x80\xae\xff 你好\t.",
                                           &peer);
    CHECK(fields[0] ==
          "MESSAGE=x\\x1b]0;t\\x07\\x0a #1: message: \\x9b2J\\u009b\\u202e\\xff 你好\t.");
    CHECK(fields[3] == "PISOCKD_PEER=x\\x1b]0;t\\x07\\x0a");
}

TEST_CASE("a journal entry without a peer has no peer fields", "[log]")
{
    const auto fields = log::journalFields(log::Level::Error, "cannot bind", nullptr);
    CHECK(fields == std::vector<std::string>{ "MESSAGE=cannot bind", "PRIORITY=3",
                                              "SYSLOG_IDENTIFIER=pisockd" });
}

TEST_CASE("no journal field value holds a newline, whatever the peer sent", "[log]")
{
    const log::Peer peer{ "unix", 1 };
    for (const auto &f :
         log::journalFields(log::Level::Debug, "message: x\nPRIORITY=0\nMESSAGE=forged", &peer))
        CHECK(f.find('\n') == std::string::npos);
    CHECK(log::journalFields(log::Level::Debug, "x", &peer)[1] == "PRIORITY=7");
}

TEST_CASE("level names parse and print", "[log]")
{
    CHECK(log::parseLevel("debug") == log::Level::Debug);
    CHECK(log::parseLevel("warn") == log::Level::Warning);
    CHECK_FALSE(log::parseLevel("loud"));
    CHECK(log::levelName(log::Level::Notice) == "notice");
}
