// SIGHUP end to end: the configuration file is read again and applied without dropping a
// connection; a bad file changes nothing.

#include <cerrno>
#include <netinet/in.h>
#include <regex>
#include <signal.h>
#include <string>
#include <sys/socket.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// Ports of the "listening on 127.0.0.1:PORT" lines, in order.
std::vector<std::uint16_t> loggedPorts(const std::string &log)
{
    std::vector<std::uint16_t> ports;
    const std::regex re("info +listening on 127\\.0\\.0\\.1:([0-9]+)"); // not "no longer ..."
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
         ++it)
        ports.push_back(static_cast<std::uint16_t>(std::stoi((*it)[1])));
    return ports;
}

bool refused(std::uint16_t port)
{
    pisock::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 &&
           errno == ECONNREFUSED;
}

} // namespace

TEST_CASE("reload applies prefix, limits and log level to the next messages; clients stay",
          "[e2e][reload]")
{
    TempDir dir;
    const auto conf = dir.write("pisockd.conf", "reply-prefix = \"old: \"\n");
    Daemon d({ "--config", conf });
    Client c(d.port());
    c.send("one\n");
    CHECK(c.readLine() == "old: one");

    dir.write("pisockd.conf", "reply-prefix = \"new: \"\nmax-message = 8\nlog-level = debug\n");
    REQUIRE(d.reload());
    CHECK(d.waitForLog("configuration reloaded"));
    c.send("two\n");
    CHECK(c.readLine() == "new: two");
    c.send("far too long\n");
    CHECK(c.readLine() == "error: message too long (limit 8 bytes)");
    CHECK(d.waitForLog("message: two"));
    Client fresh(d.port());
    fresh.send("three\n");
    CHECK(fresh.readLine() == "new: three");
    CHECK(d.log().find("disconnected") == std::string::npos);
}

TEST_CASE("an invalid file is rejected with one line and the old settings stay", "[e2e][reload]")
{
    TempDir dir;
    const auto conf = dir.write("pisockd.conf", "reply-prefix = \"kept: \"\n");
    Daemon d({ "--config", conf });
    Client c(d.port());
    dir.write("pisockd.conf", "reply-prefix = \"lost: \"\ncolour = blue\n");
    REQUIRE(d.reload()); // READY=1 comes after a rejected reload too
    CHECK(d.waitForLog("reload rejected"));
    const std::string log = d.log();
    CHECK(countOf(log, "reload rejected") == 1);
    CHECK(log.find("reload rejected, old settings kept: " + conf + ":2: unknown key 'colour'") !=
          std::string::npos);
    c.send("x\n");
    CHECK(c.readLine() == "kept: x");
}

TEST_CASE("listen addresses added and removed; a removed listener's clients keep working",
          "[e2e][reload]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/pisockd.sock";
    const auto conf = dir.write("pisockd.conf", "listen = 127.0.0.1:0\n");
    Daemon d({ "--config", conf }, noActivation());
    const auto first = loggedPorts(d.log());
    REQUIRE(first.size() == 1);
    Client old(first[0]);
    old.send("before\n");
    CHECK(old.readLine() == "server rec: before");

    dir.write("pisockd.conf", "listen = unix:" + sock + "\n");
    REQUIRE(d.reload());
    CHECK(d.log().find("listening on unix:" + sock) != std::string::npos);
    CHECK(d.log().find("no longer listening on 127.0.0.1:" + std::to_string(first[0])) !=
          std::string::npos);
    CHECK(refused(first[0]));
    old.send("after\n");
    CHECK(old.readLine() == "server rec: after");
    Client u(sock, 0);
    u.send("unix\n");
    CHECK(u.readLine() == "server rec: unix");

    dir.write("pisockd.conf", "listen = unix:" + sock + "\nlisten = 127.0.0.1:0\n");
    REQUIRE(d.reload());
    const auto ports = loggedPorts(d.log());
    REQUIRE(ports.size() == 2);
    Client again(ports[1]);
    again.send("again\n");
    CHECK(again.readLine() == "server rec: again");
    u.send("still\n");
    CHECK(u.readLine() == "server rec: still"); // the unix listener was kept, not reopened
    CHECK(countOf(d.log(), "listening on unix:") == 1);
}

TEST_CASE("an address that cannot be opened rejects the whole reload", "[e2e][reload]")
{
    TempDir dir;
    auto taken = listenLoopback();
    const std::string busy = "127.0.0.1:" + std::to_string(localPort(taken.get()));
    const auto conf = dir.write("pisockd.conf", "listen = 127.0.0.1:0\n");
    Daemon d({ "--config", conf }, noActivation());
    const auto port = loggedPorts(d.log()).at(0);

    dir.write("pisockd.conf",
              "listen = 127.0.0.1:0\nlisten = " + busy + "\nreply-prefix = \"changed: \"\n");
    REQUIRE(d.reload());
    CHECK(d.waitForLog("reload rejected, old settings kept: cannot bind " + busy));
    Client c(port);
    c.send("x\n");
    CHECK(c.readLine() == "server rec: x");
}

TEST_CASE("socket-activated, listen changes in the file are ignored with a notice", "[e2e][reload]")
{
    TempDir dir;
    const auto conf = dir.write("pisockd.conf", "reply-prefix = \"a: \"\n");
    Daemon d({ "--config", conf });
    dir.write("pisockd.conf", "reply-prefix = \"b: \"\nlisten = 127.0.0.1:0\n");
    REQUIRE(d.reload());
    CHECK(d.waitForLog("listen addresses not changed: systemd passed the sockets"));
    CHECK(countOf(d.log(), "listening on") == 1);
    Client c(d.port());
    c.send("x\n");
    CHECK(c.readLine() == "b: x");
}

TEST_CASE("mode and framing changes wait for a restart, and say so", "[e2e][reload]")
{
    TempDir dir;
    const auto conf = dir.write("pisockd.conf", "mode = reply\n");
    Daemon d({ "--config", conf });
    dir.write("pisockd.conf", "mode = echo\n");
    REQUIRE(d.reload());
    CHECK(d.waitForLog("configuration reloaded; mode and framing apply after a restart"));
    Client c(d.port());
    c.send("x\n");
    CHECK(c.readLine() == "server rec: x");
}

TEST_CASE("a reload applies new --deny rules to new clients and the idle timeout to all",
          "[e2e][reload]")
{
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf", "deny = 127.0.0.2\n");
    Daemon d({ "--config", conf });
    Client kept("127.0.0.1", d.port(), "127.0.0.3");
    REQUIRE(roundTrip(kept, "before"));
    Client denied("127.0.0.1", d.port(), "127.0.0.2");
    CHECK(denied.readToEof(5s) == "error: not allowed\n");

    dir.write("pisockd.conf", "deny = 127.0.0.3\nidle-timeout = 1\n");
    ::kill(d.pid(), SIGHUP);
    REQUIRE(d.waitForLog("configuration reloaded"));
    Client welcome("127.0.0.1", d.port(), "127.0.0.2");
    CHECK(roundTrip(welcome, "now allowed"));
    // Rules are checked when a client connects: one already served is not dropped.
    CHECK(roundTrip(kept, "still served"));
    // The new idle timeout applies to every client.
    for (Client *c : { &kept, &welcome }) {
        CHECK(c->readLine(5s) == "error: idle timeout (1 s)");
        CHECK(c->waitForEof(5s));
    }
    CHECK(d.waitForLog("disconnected (idle timeout)"));
    CHECK(d.stop() == 0);
}
