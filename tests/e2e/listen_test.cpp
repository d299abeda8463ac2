// --listen, port 0, dual-stack, unix sockets and the configuration file, end to end.

#include <regex>
#include <signal.h>
#include <string>
#include <unistd.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// Port of the "listening on HOST:PORT" line for host, from the daemon's log.
std::uint16_t loggedPort(const Daemon &d, const std::string &host)
{
    const std::regex re("listening on " +
                        std::regex_replace(host, std::regex(R"([\[\]\.])"), R"(\$&)") +
                        ":([0-9]+)");
    std::smatch m;
    const std::string log = d.log();
    if (!std::regex_search(log, m, re))
        return 0;
    return static_cast<std::uint16_t>(std::stoi(m[1]));
}

DaemonOptions noActivation()
{
    DaemonOptions o;
    o.socketActivation = false;
    return o;
}

} // namespace

TEST_CASE("port 0 binds a free port and logs it", "[e2e][listen]")
{
    Daemon d({ "--listen", "127.0.0.1:0" }, noActivation());
    const auto port = loggedPort(d, "127.0.0.1");
    REQUIRE(port != 0);
    Client c(port);
    c.send("hi\n");
    CHECK(c.readLine() == "server rec: hi");
}

TEST_CASE("several listen addresses at once, IPv4, IPv6 and unix", "[e2e][listen]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/pisockd.sock";
    Daemon d({ "--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--listen", "unix:" + sock },
             noActivation());
    const auto v4 = loggedPort(d, "127.0.0.1");
    const auto v6 = loggedPort(d, "[::1]");
    REQUIRE(v4 != 0);
    REQUIRE(v6 != 0);
    CHECK(d.log().find("listening on unix:" + sock) != std::string::npos);

    Client a("127.0.0.1", v4);
    Client b("::1", v6);
    Client u(sock, 0);
    a.send("four\n");
    b.send("six\n");
    u.send("unix\n");
    CHECK(a.readLine() == "server rec: four");
    CHECK(b.readLine() == "server rec: six");
    CHECK(u.readLine() == "server rec: unix");
    CHECK(d.waitForLog("[::1]:"));
    CHECK(d.stop() == 0);
}

TEST_CASE("[::] is dual-stack and IPv4 peers are logged as plain IPv4", "[e2e][listen]")
{
    Daemon d({ "--listen", "[::]:0" }, noActivation());
    const auto port = loggedPort(d, "[::]");
    REQUIRE(port != 0);
    Client v4("127.0.0.1", port);
    v4.send("via ipv4\n");
    CHECK(v4.readLine() == "server rec: via ipv4");
    Client v6("::1", port);
    v6.send("via ipv6\n");
    CHECK(v6.readLine() == "server rec: via ipv6");
    CHECK(d.waitForLog("[::1]:"));
    const std::string log = d.log();
    CHECK(log.find("::ffff:") == std::string::npos);
    CHECK(std::regex_search(log, std::regex(R"(127\.0\.0\.1:[0-9]+ #[0-9]+: connected)")));
}

TEST_CASE("a stale unix socket file is replaced; the file goes at exit", "[e2e][listen]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/stale.sock";
    {
        Daemon first({ "--listen", "unix:" + sock }, noActivation());
        first.stop(SIGKILL); // leaves the file behind
    }
    Daemon d({ "--listen", "unix:" + sock }, noActivation());
    Client u(sock, 0);
    u.send("fresh\n");
    CHECK(u.readLine() == "server rec: fresh");
    CHECK(d.stop() == 0);
    CHECK(::access(sock.c_str(), F_OK) != 0);
}

TEST_CASE("the configuration file sets options and the command line wins", "[e2e][listen]")
{
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf", "# comment\n"
                                                       "[pisockd]\n"
                                                       "listen = 127.0.0.1:0\n"
                                                       "reply-prefix = \"from file: \"\n"
                                                       "max-message = 10\n");
    {
        Daemon d({ "--config", conf }, noActivation());
        Client c(loggedPort(d, "127.0.0.1"));
        c.send("0123456789\n0123456789x\n");
        CHECK(c.readLine() == "from file: 0123456789");
        CHECK(c.readLine() == "error: message too long (limit 10 bytes)");
    }
    {
        Daemon d({ "--config", conf, "--reply-prefix", "cli: " }, noActivation());
        Client c(loggedPort(d, "127.0.0.1"));
        c.send("x\n");
        CHECK(c.readLine() == "cli: x");
    }
}
