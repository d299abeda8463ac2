// --listen, port 0, dual-stack, unix sockets and the configuration file, end to end.

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
