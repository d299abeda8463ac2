// Socket activation end to end: sockets passed with LISTEN_FDS (one or several, TCP and unix,
// named or not), by the test itself and by systemd-socket-activate.

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

constexpr const char *kSocketActivate = "/usr/bin/systemd-socket-activate";

// A listening unix socket at path, as systemd would create for a .socket unit.
UniqueFd listenUnix(const std::string &path)
{
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path.c_str(), sizeof(sun.sun_path) - 1);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    REQUIRE(::listen(fd.get(), 16) == 0);
    return fd;
}

bool exists(const std::string &path)
{
    struct stat st {
    };
    return ::stat(path.c_str(), &st) == 0;
}

} // namespace

TEST_CASE("several named sockets, TCP and unix, are all served and logged by name",
          "[e2e][activation]")
{
    TempDir dir;
    const std::string path = dir.path() + "/pisockd.sock";
    auto v6 = listenLoopback(true);
    auto local = listenUnix(path);
    DaemonOptions o;
    o.passFds = { v6.get(), local.get() };
    o.fdNames = { "pisockd.socket", "ipv6", "local" };
    Daemon d({}, o);
    const auto v6Port = localPort(v6.get());
    const std::string log = d.log();
    CHECK(log.find("listening on 127.0.0.1:" + std::to_string(d.port()) +
                   " (socket pisockd.socket)") != std::string::npos);
    CHECK(log.find("listening on [::1]:" + std::to_string(v6Port) + " (socket ipv6)") !=
          std::string::npos);
    CHECK(log.find("listening on unix:" + path + " (socket local)") != std::string::npos);

    Client a(d.port());
    Client b("::1", v6Port);
    Client u(path, 0);
    CHECK(roundTrip(a, "four"));
    CHECK(roundTrip(b, "six"));
    CHECK(roundTrip(u, "unix"));
    a.shutdownWrite();
    b.shutdownWrite();
    u.shutdownWrite();
    CHECK(d.stop() == 0);
    // The socket file is the service manager's: the daemon leaves it alone.
    CHECK(exists(path));
}

TEST_CASE("sockets passed without names are logged by fd number", "[e2e][activation]")
{
    auto second = listenLoopback();
    DaemonOptions o;
    o.passFds = { second.get() };
    Daemon d({}, o);
    CHECK(d.log().find("(socket activation, fd 3)") != std::string::npos);
    CHECK(d.log().find("(socket activation, fd 4)") != std::string::npos);
    Client c(localPort(second.get()));
    CHECK(roundTrip(c, "second"));
}

TEST_CASE("passed sockets replace the listen addresses of the options", "[e2e][activation]")
{
    Daemon d({ "--listen", "127.0.0.1:0" });
    const std::string log = d.log();
    CHECK(std::regex_search(log, std::regex("listen addresses of the configuration ignored")));
    // One listener only: the passed one.
    std::size_t listening = 0;
    for (auto p = log.find("listening on"); p != std::string::npos;
         p = log.find("listening on", p + 1))
        ++listening;
    CHECK(listening == 1);
    Client c(d.port());
    CHECK(roundTrip(c, "ok"));
}

TEST_CASE("a passed socket that is not listening fails the start with one line",
          "[e2e][activation]")
{
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    DaemonOptions o;
    o.socketActivation = false;
    o.waitReady = false;
    o.passFds = { udp.get() };
    o.fdNames = { "web" };
    Daemon d({}, o);
    CHECK(d.stop(0) == 71);
    const std::string log = d.log();
    CHECK(log.find("socket web (fd 3) passed by the service manager is not a listening stream "
                   "socket") != std::string::npos);
    CHECK(d.countNotifications("READY=1") == 0);
}

TEST_CASE("systemd-socket-activate starts the daemon on the first client, which is served",
          "[e2e][activation]")
{
    if (::access(kSocketActivate, X_OK) != 0) {
        skipCase(std::string(kSocketActivate) + " is missing (package systemd)");
        return;
    }
    TempDir dir;
    const std::string path = dir.path() + "/activate.sock";
    DaemonOptions o;
    o.waitReady = false; // it starts pisockd only when a client comes
    // The harness's TCP socket (fd 3) goes through systemd-socket-activate, which adds its
    // own unix socket as fd 4 and names both.
    o.wrapper = { kSocketActivate,
                  "--listen",
                  path,
                  "--fdname=pisockd.socket:local",
                  "-E",
                  "NOTIFY_SOCKET",
                  "-E",
                  "ASAN_OPTIONS",
                  "-E",
                  "UBSAN_OPTIONS" };
    Daemon d({}, o);
    const auto deadline = Clock::now() + 10s;
    while (!exists(path) && Clock::now() < deadline)
        ::poll(nullptr, 0, 10); // the wrapper creates the socket file: nothing to wait on
    REQUIRE(exists(path));
    CHECK(d.countNotifications("READY=1") == 0);

    Client early(path, 0); // queued by the kernel until the daemon runs
    early.send("first\n");
    REQUIRE(d.waitForNotification("READY=1"));
    CHECK(early.readLine() == "server rec: first");
    Client tcp(d.port());
    CHECK(roundTrip(tcp, "tcp", 10s)); // the daemon starts on this first client
    const std::string log = d.log();
    CHECK(log.find("listening on 127.0.0.1:" + std::to_string(d.port()) +
                   " (socket pisockd.socket)") != std::string::npos);
    CHECK(log.find("listening on unix:" + path + " (socket local)") != std::string::npos);
    early.shutdownWrite();
    tcp.shutdownWrite();
    CHECK(d.stop() == 0);
}
