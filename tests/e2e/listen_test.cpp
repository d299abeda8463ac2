// --listen end to end: port 0, dual-stack, unix sockets (stale, full, forbidden, abstract),
// and an address already in use.

#include <regex>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

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

namespace {

// A unix socket another process (this test) listens on, its queue full: a blocking connect()
// to it would wait until the test accepts, which it never does.
struct FullUnixListener {
    UniqueFd fd{ ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) };
    std::vector<UniqueFd> queued;

    explicit FullUnixListener(const std::string &path)
    {
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        path.copy(sun.sun_path, sizeof(sun.sun_path) - 1);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
        REQUIRE(::listen(fd.get(), 0) == 0);
        for (int i = 0; i < 64; ++i) {
            UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (::connect(c.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) != 0)
                return; // EAGAIN: the queue is full
            queued.push_back(std::move(c));
        }
        FAIL("the listen queue never filled");
    }
};

} // namespace

TEST_CASE("a unix socket whose queue is full is in use: start and --check answer at once, a "
          "reload is rejected and the loop goes on",
          "[e2e][listen]")
{
    TempDir dir;
    const std::string path = dir.path() + "/busy.sock";
    FullUnixListener busy(path);
    const std::string reason = "cannot listen on unix:" + path +
                               ": another process listens on it (its queue is full): Address "
                               "already in use";

    const auto start = Clock::now();
    auto r = runProcess({ daemonPath(), "--config", "/dev/null", "--listen", "unix:" + path }, {},
                        10s);
    CHECK(r.status == 71);
    CHECK(r.err.find(reason) != std::string::npos);
    r = runProcess({ daemonPath(), "--check", "--config", "/dev/null", "--listen", "unix:" + path },
                   {}, 10s);
    CHECK(r.status == 71);
    CHECK(r.err.find("unix:" + path + " is in use by ") != std::string::npos);
    CHECK(Clock::now() - start < 5s); // neither waited on the full queue

    const std::string conf = dir.write("pisockd.conf", "listen = 127.0.0.1:0\n");
    Daemon d({ "--config", conf }, noActivation());
    const auto port = loggedPort(d, "127.0.0.1");
    dir.write("pisockd.conf", "listen = 127.0.0.1:0\nlisten = unix:" + path + "\n");
    REQUIRE(d.reload(5s)); // READY=1 after the rejected reload: the loop did not freeze
    CHECK(d.waitForLog("reload rejected, old settings kept: " + reason));
    Client c(port);
    c.send("alive\n");
    CHECK(c.readLine() == "server rec: alive");
    c.close();
    CHECK(::access(path.c_str(), F_OK) == 0); // never unlinked
    CHECK(d.stop(SIGTERM, 5s) == 0);
}

TEST_CASE("a socket file this daemon may not connect to is in use, never replaced", "[e2e][listen]")
{
    const auto wrapper = withoutFileOverride();
    if (!wrapper) {
        skipCase("as root, setpriv cannot drop CAP_DAC_OVERRIDE here: cannot be refused a socket");
        return;
    }
    // Another service's live socket: another user's, mode 0600, in a directory anyone may
    // write to. (Not root: a socket of our own, mode 0.)
    TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0777) == 0);
    const std::string path = dir.path() + "/service.sock";
    UniqueFd service(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    path.copy(sun.sun_path, sizeof(sun.sun_path) - 1);
    REQUIRE(::bind(service.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    REQUIRE(::listen(service.get(), 16) == 0);
    if (::geteuid() == 0) {
        REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
        REQUIRE(::chmod(path.c_str(), 0600) == 0);
    } else {
        REQUIRE(::chmod(path.c_str(), 0) == 0);
    }

    std::vector<std::string> argv = *wrapper;
    argv.insert(argv.end(), { daemonPath(), "--config", "/dev/null", "--listen", "unix:" + path });
    const auto r = runProcess(argv, {}, 10s);
    CHECK(r.status == 71);
    CHECK(r.err.find("cannot listen on unix:" + path +
                     ": a socket file is there and a test connection to it failed, so it may be "
                     "in use (pisockd replaces only a file that refuses connections): "
                     "Permission denied") != std::string::npos);
    // The service still has its socket and its clients.
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    Client client(path, 0);
    CHECK(acceptWithin(service.get(), 5s));
}

TEST_CASE("an abstract unix socket works and is warned about: it has no permissions",
          "[e2e][listen]")
{
    const std::string name = "@pisockd-test-" + std::to_string(::getpid());
    Daemon d({ "--listen", "unix:" + name }, noActivation());
    CHECK(d.waitForLog("warning unix:" + name +
                       " is an abstract unix socket: it has no file permissions, so any process "
                       "in this network namespace can connect to it (--allow and --deny do not "
                       "apply to unix sockets)\n"));
    Client c(connectUnixFrom(name, {}));
    c.send("abstract\n");
    CHECK(c.readLine() == "server rec: abstract");
}

TEST_CASE("a port in use fails with a message naming the address", "[e2e][listen]")
{
    auto taken = listenLoopback();
    const std::string addr = "127.0.0.1:" + std::to_string(localPort(taken.get()));
    auto r = runProcess({ daemonPath(), "--listen", addr });
    CHECK(r.status != 0);
    // The start line, then what --check would say (who holds the port), then the error.
    CHECK(lineCount(r.err) == 3);
    const auto hint = r.err.find("error   port " + std::to_string(localPort(taken.get())) +
                                 " on 127.0.0.1 is in use by e2e_listen_test (pid " +
                                 std::to_string(::getpid()) + ")\n");
    const auto error = r.err.find("error   cannot bind " + addr + ": Address already in use\n");
    CHECK(hint != std::string::npos);
    CHECK(error != std::string::npos);
    CHECK(hint < error);
}
