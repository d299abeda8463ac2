// pisock --listen-only against a broadcast pisockd: stdin is not read (at its end or not), what
// the room says is printed, a close pisock did not ask for is an error, and --reconnect follows
// the daemon across a restart on the same port.

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

bool waitForClients(Daemon &d, std::size_t n)
{
    return d.waitForNotifications(
            "STATUS=" + std::to_string(n) + " client" + (n == 1 ? "" : "s") + " now", 1, true, 30s);
}

std::string nameOf(const Client &c)
{
    return "127.0.0.1:" + std::to_string(localPort(c.fd()));
}

} // namespace

TEST_CASE("listen-only: an empty stdin does not end it, the room's lines are printed, and the "
          "server's stop is an error",
          "[e2e][client][listen]")
{
    Daemon d({ "--mode", "broadcast" });
    const std::string port = std::to_string(d.port());
    ProcessResult r;
    std::thread listener([&] {
        r = runProcess({ clientPath(), "--listen-only", "127.0.0.1", port }, "", 30s);
    });
    REQUIRE(waitForClients(d, 1)); // the listener, its stdin already at its end
    Client witness(d.port());
    Client sender(d.port());
    REQUIRE(waitForClients(d, 3));
    const std::string line = nameOf(sender) + ": kitchen 21.5 C";
    sender.send("kitchen 21.5 C\n");
    // Once another reader has the line, the daemon has queued it for the listener too.
    REQUIRE(witness.readLine() == line);
    witness.close();
    sender.close();
    CHECK(d.stop() == 0);
    listener.join();
    CHECK(r.out == line + "\n");
    // "error: server stopping" from a pisockd that says why (6), else the bare close (4).
    if (r.err.find("error: server stopping") != std::string::npos) {
        CHECK(r.status == 6);
        CHECK(r.err == "pisock: the server closed the connection: error: server stopping\n");
    } else {
        CHECK(r.status == 4);
        CHECK(r.err == "pisock: the server closed the connection\n");
    }
}

TEST_CASE("listen-only sends nothing: the others in the room see no line from it",
          "[e2e][client][listen]")
{
    Daemon d({ "--mode", "broadcast" });
    Client other(d.port());
    REQUIRE(waitForClients(d, 1));
    ProcessResult r;
    std::thread listener([&] {
        r = runProcess({ clientPath(), "-l", "127.0.0.1", std::to_string(d.port()) },
                       "this is not sent\nquit\n", 30s);
    });
    REQUIRE(waitForClients(d, 2));
    Client sender(d.port());
    REQUIRE(waitForClients(d, 3));
    const std::string line = nameOf(sender) + ": ping";
    sender.send("ping\n");
    // The first line the other client gets is the sender's: nothing came from the listener.
    CHECK(other.readLine() == line);
    other.close();
    sender.close();
    CHECK(d.stop() == 0);
    listener.join();
    CHECK(r.out == line + "\n");
    CHECK(r.status != 0);
}

TEST_CASE("--reconnect follows a daemon restarted on the same port, saying so on stderr",
          "[e2e][client][listen]")
{
    auto d = std::make_optional<Daemon>(std::vector<std::string>{ "--mode", "broadcast", "--listen",
                                                                  "127.0.0.1:0" },
                                        noActivation());
    const std::uint16_t port = loggedPort(*d);
    REQUIRE(port != 0);
    const std::string name = "127.0.0.1:" + std::to_string(port);
    // On a terminal, so that the test reads stdout and stderr as they come; not interactive.
    PtyProcess t(
            { clientPath(), "--listen-only", "--reconnect", "127.0.0.1", std::to_string(port) });
    REQUIRE(waitForClients(*d, 1));
    {
        Client sender(port);
        REQUIRE(waitForClients(*d, 2));
        sender.send("before the restart\n");
        REQUIRE(t.waitFor(nameOf(sender) + ": before the restart"));
    }
    CHECK(d->stop() == 0);
    REQUIRE(t.waitFor("pisock: connecting again in 1s"));
    d.reset();
    // Stopped: the next attempt is refused and the wait doubles.
    REQUIRE(t.waitFor("pisock: connecting again in 2s", 10s));
    d.emplace(std::vector<std::string>{ "--mode", "broadcast", "--listen", name }, noActivation());
    REQUIRE(t.waitFor("pisock: connected to " + name + " again", 20s));
    REQUIRE(waitForClients(*d, 1));
    Client sender(port);
    REQUIRE(waitForClients(*d, 2));
    sender.send("after the restart\n");
    CHECK(t.waitFor(nameOf(sender) + ": after the restart"));
    CHECK_FALSE(t.exited());
}
