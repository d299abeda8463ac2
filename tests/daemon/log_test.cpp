#include "daemon/log.h"

#include <string>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("control bytes are escaped, tabs and UTF-8 pass", "[log]")
{
    CHECK(log::escape("plain text") == "plain text");
    CHECK(log::escape("a\nb\r") == "a\\x0ab\\x0d");
    CHECK(log::escape(std::string("nul\0here", 8)) == "nul\\x00here");
    CHECK(log::escape("\x1b[31mred") == "\\x1b[31mred");
    CHECK(log::escape("del\x7f") == "del\\x7f");
    CHECK(log::escape("tab\there") == "tab\there");
    CHECK(log::escape("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("a journal entry about a peer has the message, priority and peer fields", "[log]")
{
    const log::Peer peer{ "192.0.2.1:5000", 42 };
    const auto fields = log::journalFields(log::Level::Info, "connected on [::]:8888", &peer);
    CHECK(fields == std::vector<std::string>{ "MESSAGE=192.0.2.1:5000 #42: connected on [::]:8888",
                                              "PRIORITY=6", "SYSLOG_IDENTIFIER=pisockd",
                                              "PISOCKD_PEER=192.0.2.1:5000", "PISOCKD_CONN=42" });
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
