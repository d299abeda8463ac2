// Names in broadcast mode, over raw sockets: "name: kitchen" makes a client "kitchen: " to the
// others (the log keeps its address); invalid, address-like and taken names get an error line
// and change nothing; unnamed clients keep their address. And pisock --name.

#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

std::string addressOf(const Client &c)
{
    return "127.0.0.1:" + std::to_string(localPort(c.fd()));
}

bool waitForClients(Daemon &d, std::size_t n)
{
    return d.waitForNotifications(
            "STATUS=" + std::to_string(n) + " client" + (n == 1 ? "" : "s") + " now", 1, true, 30s);
}

} // namespace

TEST_CASE("a named client is its name to the others, the log keeps its address", "[e2e][names]")
{
    Daemon d({ "--mode", "broadcast" });
    Client kitchen(d.port());
    Client listener(d.port());
    Client unnamed(d.port());
    REQUIRE(waitForClients(d, 3));
    kitchen.send("name: kitchen\n21.5 C\n");
    CHECK(listener.readLine() == "kitchen: 21.5 C");
    CHECK(unnamed.readLine() == "kitchen: 21.5 C");
    unnamed.send("hello\n");
    CHECK(listener.readLine() == addressOf(unnamed) + ": hello");
    CHECK(kitchen.readLine() == addressOf(unnamed) + ": hello");
    // Nothing came back to the named client for its name: the next line is another's.
    CHECK(d.waitForLog(addressOf(kitchen) + " #1: named kitchen"));
    // A new name replaces the old one, which is free again.
    kitchen.send("name: garage\nstill here\n");
    CHECK(listener.readLine() == "garage: still here");
    unnamed.send("name: kitchen\nmine now\n");
    CHECK(listener.readLine() == "kitchen: mine now");
    for (Client *c : { &kitchen, &listener, &unnamed })
        c->close();
    CHECK(d.stop() == 0);
}

TEST_CASE("invalid, address-like and taken names get an error line and change nothing",
          "[e2e][names]")
{
    Daemon d({ "--mode", "broadcast" });
    Client first(d.port());
    Client second(d.port());
    REQUIRE(waitForClients(d, 2));
    first.send("name: kitchen\n");
    CHECK(d.waitForLog("#1: named kitchen"));

    second.send("name: Kitchen\n");
    CHECK(second.readLine() == "error: name taken");
    second.send("name: two words\n");
    CHECK(second.readLine() == "error: invalid name (1 to 32 letters, digits, '-', '_' or '.')");
    second.send("name: " + std::string(33, 'x') + "\n");
    CHECK(second.readLine() == "error: invalid name (1 to 32 letters, digits, '-', '_' or '.')");
    second.send("name: 192.168.1.20\n");
    CHECK(second.readLine() == "error: invalid name (it looks like an address)");
    second.send("name: unix\n");
    CHECK(second.readLine() == "error: invalid name (it looks like an address)");
    // None of those went to the room, and the second client still has its address.
    second.send("after all that\n");
    CHECK(first.readLine() == addressOf(second) + ": after all that");
    // Once the first leaves, its name is free.
    first.send("quit\n");
    CHECK(d.waitForLog("#1: disconnected (quit)"));
    second.send("name: kitchen\n");
    Client third(d.port());
    REQUIRE(d.waitForLog("#3: connected"));
    second.send("got it\n");
    CHECK(third.readLine() == "kitchen: got it");
    second.close();
    third.close();
    first.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("pisock --name names the client for the room", "[e2e][names]")
{
    Daemon d({ "--mode", "broadcast" });
    Client listener(d.port());
    REQUIRE(waitForClients(d, 1));
    const auto r = runProcess({ clientPath(), "--name", "porch", "--no-replies", "-m", "motion",
                                "127.0.0.1", std::to_string(d.port()) });
    CHECK(r.status == 0);
    INFO(r.err);
    CHECK(listener.readLine() == "porch: motion");
    const auto bad =
            runProcess({ clientPath(), "--name", "a b", "127.0.0.1", std::to_string(d.port()) });
    CHECK(bad.status == 2); // usage
    CHECK(bad.err.find("--name") != std::string::npos);
    listener.close();
    CHECK(d.stop() == 0);
}
