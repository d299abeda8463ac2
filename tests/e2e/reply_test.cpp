// Reply mode end to end: the real pisockd on a free loopback port, plain sockets.

#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("each line is answered with the prefix", "[e2e][reply]")
{
    Daemon d;
    Client c(d.port());
    c.send("hello\n");
    CHECK(c.readLine() == "server rec: hello");
    c.send("second line\n");
    CHECK(c.readLine() == "server rec: second line");
}

TEST_CASE("a line written one byte at a time gets one reply", "[e2e][reply]")
{
    Daemon d;
    Client c(d.port());
    for (char ch : std::string("split into bytes\n"))
        c.send(std::string(1, ch));
    CHECK(c.readLine() == "server rec: split into bytes");
    c.send("next\n");
    CHECK(c.readLine() == "server rec: next");
}

TEST_CASE("1000 lines in a single write are answered in order", "[e2e][reply]")
{
    Daemon d;
    Client c(d.port());
    std::string batch;
    for (int i = 0; i < 1000; ++i)
        batch += "message " + std::to_string(i) + "\n";
    c.send(batch);
    for (int i = 0; i < 1000; ++i) {
        auto line = c.readLine();
        REQUIRE(line);
        REQUIRE(*line == "server rec: message " + std::to_string(i));
    }
}

TEST_CASE("CRLF line ends and empty lines are answered", "[e2e][reply]")
{
    Daemon d;
    Client c(d.port());
    c.send("windows\r\n\n\r\n");
    CHECK(c.readLine() == "server rec: windows");
    CHECK(c.readLine() == "server rec: ");
    CHECK(c.readLine() == "server rec: ");
}

TEST_CASE("quit and exit are answered, then the server closes", "[e2e][reply]")
{
    Daemon d;
    for (const char *cmd : { "quit", "exit" }) {
        Client c(d.port());
        c.send(std::string("before\n") + cmd + "\nafter\n");
        CHECK(c.readLine() == "server rec: before");
        CHECK(c.readLine() == std::string("server rec: ") + cmd);
        CHECK(c.waitForEof());
    }
    CHECK(d.waitForLog("disconnected (quit)"));
    Client still(d.port());
    still.send("alive\n");
    CHECK(still.readLine() == "server rec: alive");
}

TEST_CASE("NUL bytes and invalid UTF-8 come back intact", "[e2e][reply]")
{
    Daemon d;
    Client c(d.port());
    const std::string odd("a\0b\xff\xfe\xc3(\x01\x7f", 9);
    c.send(odd + "\n");
    CHECK(c.readLine() == "server rec: " + odd);
}

TEST_CASE("an over-long line gets the error and the connection goes on", "[e2e][reply]")
{
    Daemon d({ "--max-message", "100" });
    Client c(d.port());
    c.send(std::string(5000, 'x') + "\nshort\n");
    CHECK(c.readLine() == "error: message too long (limit 100 bytes)");
    CHECK(c.readLine() == "server rec: short");
    c.send(std::string(100, 'y') + "\n");
    CHECK(c.readLine() == "server rec: " + std::string(100, 'y'));
}

TEST_CASE("an over-long line sent in pieces is answered once", "[e2e][reply]")
{
    Daemon d({ "--max-message", "1K" });
    Client c(d.port());
    for (int i = 0; i < 50; ++i)
        c.send(std::string(1000, 'z'));
    c.send("\nafter\n");
    CHECK(c.readLine() == "error: message too long (limit 1024 bytes)");
    CHECK(c.readLine() == "server rec: after");
}

TEST_CASE("a client that half-closes still gets every reply", "[e2e][reply]")
{
    Daemon d;
    Client c(d.port());
    std::string batch;
    for (int i = 0; i < 200; ++i)
        batch += std::to_string(i) + "\n";
    c.send(batch + "no newline at the end");
    c.shutdownWrite();
    bool timedOut = true;
    const std::string all = c.readToEof(10s, &timedOut);
    CHECK_FALSE(timedOut);
    std::string want;
    for (int i = 0; i < 200; ++i)
        want += "server rec: " + std::to_string(i) + "\n";
    want += "server rec: no newline at the end\n";
    CHECK(all == want);
}

TEST_CASE("raw framing answers a message as it came, with or without its newline", "[e2e][reply]")
{
    Daemon d({ "--framing", "raw" });
    Client c(d.port());
    c.send("hello");
    CHECK(c.readBytes(17) == "server rec: hello");
    c.send("with newline\n");
    CHECK(c.readLine() == "server rec: with newline");
    c.send("quit");
    CHECK(c.readToEof() == "server rec: quit");
}

TEST_CASE("the reply prefix can be changed or empty", "[e2e][reply]")
{
    {
        Daemon d({ "--reply-prefix", ">> " });
        Client c(d.port());
        c.send("x\n");
        CHECK(c.readLine() == ">> x");
    }
    {
        Daemon d({ "--reply-prefix", "" });
        Client c(d.port());
        c.send("bare\n");
        CHECK(c.readLine() == "bare");
    }
}
