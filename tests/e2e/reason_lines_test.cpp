// The one line a client gets before pisockd closes it for a reason the client did not ask for
// (idle timeout, server stopping, not allowed, server busy), over raw sockets; and echo mode,
// whose bytes are the client's, sending none of them.

#include <csignal>
#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("an idle client is told the timeout before it is closed", "[e2e][reason]")
{
    Daemon d({ "--idle-timeout", "1" });
    Client c(d.port());
    REQUIRE(roundTrip(c, "then silence"));
    CHECK(c.readLine(5s) == "error: idle timeout (1 s)");
    CHECK(c.waitForEof(5s));
    CHECK(d.waitForLog("#1: disconnected (idle timeout)"));
    CHECK(d.stop() == 0);
}

TEST_CASE("a stop tells each client after its replies", "[e2e][reason]")
{
    Daemon d;
    Client c(d.port());
    c.send("one\ntwo\n");
    CHECK(c.readLine() == "server rec: one");
    CHECK(c.readLine() == "server rec: two");
    d.signal(SIGTERM);
    CHECK(c.readLine() == "error: server stopping");
    CHECK(c.waitForEof());
    c.shutdownWrite();
    CHECK(d.stop(0) == 0);
    CHECK(d.waitForLog("#1: disconnected (server stopping)"));
}

TEST_CASE("a peer outside --allow is told it is not allowed, and nothing more", "[e2e][reason]")
{
    Daemon d({ "--allow", "127.0.0.2", "--deny", "127.0.0.3" });
    for (const char *source : { "127.0.0.3", "127.0.0.4" }) {
        INFO(source);
        Client refused("127.0.0.1", d.port(), source);
        bool timedOut = true;
        CHECK(refused.readToEof(5s, &timedOut) == "error: not allowed\n");
        CHECK_FALSE(timedOut);
    }
    Client allowed("127.0.0.1", d.port(), "127.0.0.2");
    CHECK(roundTrip(allowed, "welcome"));
    allowed.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("a client past --max-connections is told the server is busy", "[e2e][reason]")
{
    Daemon d({ "--max-connections", "1" });
    Client first(d.port());
    REQUIRE(roundTrip(first, "here"));
    Client second(d.port());
    bool timedOut = true;
    CHECK(second.readToEof(5s, &timedOut) == "error: server busy\n");
    CHECK_FALSE(timedOut);
    first.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("echo mode closes with no reason line: its bytes are the client's", "[e2e][reason]")
{
    Daemon d({ "--mode", "echo", "--idle-timeout", "1", "--max-connections", "1", "--allow",
               "127.0.0.1", "--allow", "127.0.0.3" });
    bool timedOut = true;

    Client denied("127.0.0.1", d.port(), "127.0.0.2");
    CHECK(denied.readToEof(5s, &timedOut).empty());
    CHECK_FALSE(timedOut);

    Client idle(d.port());
    idle.send("ping");
    CHECK(idle.readBytes(4) == "ping");
    Client busy("127.0.0.1", d.port(), "127.0.0.3");
    CHECK(busy.readToEof(5s, &timedOut).empty());
    CHECK_FALSE(timedOut);
    // The idle timeout: EOF after the echo, not a line.
    CHECK(idle.readToEof(5s, &timedOut).empty());
    CHECK_FALSE(timedOut);
    CHECK(d.waitForLog("#1: disconnected (idle timeout)"));

    Client stopped(d.port());
    stopped.send("pong");
    CHECK(stopped.readBytes(4) == "pong");
    d.signal(SIGTERM);
    CHECK(stopped.readToEof(5s, &timedOut).empty());
    CHECK_FALSE(timedOut);
    stopped.shutdownWrite();
    CHECK(d.stop(0) == 0);
}
