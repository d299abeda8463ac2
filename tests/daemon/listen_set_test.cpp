#include "daemon/listen_set.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

namespace {

struct Sink : AcceptSink {
    int accepted = 0;
    void onAccept(UniqueFd, const SocketAddress &, Listener &) noexcept override { ++accepted; }
    void onAcceptError(Listener &, int) noexcept override {}
};

struct Fixture {
    EventLoop loop;
    Sink sink;
    SpareFd spare;
    ListenSet set{ loop, sink, spare };
    std::string dir;

    Fixture()
    {
        char tmpl[] = "/tmp/pisockd-listen-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
    }
    ~Fixture()
    {
        set.closeAll();
        loop.runOnce(0); // destroys what was retired
        ::unlink((dir + "/a.sock").c_str());
        ::unlink((dir + "/b.sock").c_str());
        ::rmdir(dir.c_str());
    }
};

ListenAddress parse(const std::string &text)
{
    std::string error;
    auto ep = parseListenAddress(text, error);
    if (!ep)
        throw std::invalid_argument(error);
    return *ep;
}

bool exists(const std::string &path)
{
    struct stat st {
    };
    return ::lstat(path.c_str(), &st) == 0;
}

// A port this test holds.
struct TakenPort {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::uint16_t port = 0;
    TakenPort()
    {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&a), len) == 0);
        REQUIRE(::listen(fd, 1) == 0);
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~TakenPort() { ::close(fd); }
};

} // namespace

TEST_CASE("an empty list means [::]:8888, dual-stack, with the IPv4 fallback", "[listen-set]")
{
    const auto plan = listenPlan({});
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].endpoint.toString() == "[::]:8888");
    CHECK(plan[0].dualStack);
    CHECK(plan[0].fallbackToIpv4);
}

TEST_CASE("[::]:P is IPv6-only when 0.0.0.0:P is listed too", "[listen-set]")
{
    const auto plan = listenPlan({ parse("[::]:9000"), parse("0.0.0.0:9000"), parse("[::]:9001") });
    REQUIRE(plan.size() == 3);
    CHECK_FALSE(plan[0].dualStack);
    CHECK(plan[2].dualStack);
    CHECK_FALSE(plan[0].fallbackToIpv4);
}

TEST_CASE("update opens what is new and closes what is gone", "[listen-set]")
{
    Fixture f;
    const std::string a = f.dir + "/a.sock";
    const std::string b = f.dir + "/b.sock";
    f.set.open({ parse("unix:" + a), parse("127.0.0.1:0") });
    CHECK(f.set.size() == 2);
    CHECK_FALSE(f.set.activated());

    f.set.update({ parse("127.0.0.1:0"), parse("unix:" + b) });
    CHECK(f.set.size() == 2);
    CHECK_FALSE(exists(a)); // closed, and its file removed
    CHECK(exists(b));

    f.set.update({ parse("127.0.0.1:0"), parse("unix:" + b) });
    CHECK(f.set.size() == 2);
}

TEST_CASE("update is all or nothing", "[listen-set]")
{
    Fixture f;
    const std::string a = f.dir + "/a.sock";
    const std::string b = f.dir + "/b.sock";
    TakenPort taken;
    f.set.open({ parse("unix:" + a) });
    const auto bad = parse("127.0.0.1:" + std::to_string(taken.port));
    CHECK_THROWS_AS(f.set.update({ parse("unix:" + b), bad }), std::system_error);
    CHECK(f.set.size() == 1);
    CHECK(exists(a));
    CHECK_FALSE(exists(b)); // opened, then closed again
}

TEST_CASE("adopted sockets must be listening stream sockets", "[listen-set]")
{
    Fixture f;
    // A datagram socket at a high fd stands for what a service manager passed.
    const int low = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int udp = ::fcntl(low, F_DUPFD_CLOEXEC, 200);
    ::close(low);
    REQUIRE(udp >= 200);
    try {
        f.set.adopt(udp, { "web" });
        FAIL("adopted a datagram socket");
    } catch (const std::system_error &e) {
        CHECK(std::string(e.what()).find("socket web (fd " + std::to_string(udp) +
                                         ") passed by the service manager is not a listening "
                                         "stream socket") != std::string::npos);
    }
    CHECK(f.set.activated());
    ::close(udp);
}

TEST_CASE("another spelling of a socket already open keeps it open", "[listen-set]")
{
    Fixture f;
    const std::string a = f.dir + "/a.sock";
    f.set.open({ parse("unix:" + a) });
    // Opening it again would fail: it is in use, by this very set.
    f.set.update({ parse("unix:" + f.dir + "//./a.sock") });
    CHECK(f.set.size() == 1);
    CHECK(exists(a));
}

TEST_CASE("a unix socket file is replaced only when connecting to it is refused", "[listen-set]")
{
    Fixture f;
    const std::string a = f.dir + "/a.sock";
    {
        // A file left behind: bound, never listening, closed. Connecting is refused.
        UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        a.copy(sun.sun_path, sizeof(sun.sun_path) - 1);
        REQUIRE(::bind(stale.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    }
    REQUIRE(exists(a));
    CHECK_NOTHROW(openListenSocket(parse("unix:" + a).endpoint));
    ::unlink(a.c_str());

    // A live listener whose queue is full: "in use" at once, never a blocking connect().
    UniqueFd live(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    a.copy(sun.sun_path, sizeof(sun.sun_path) - 1);
    REQUIRE(::bind(live.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    REQUIRE(::listen(live.get(), 0) == 0);
    std::vector<UniqueFd> queued;
    for (int i = 0; i < 64; ++i) {
        UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (::connect(c.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) != 0)
            break; // EAGAIN: the queue is full
        queued.push_back(std::move(c));
    }
    try {
        openListenSocket(parse("unix:" + a).endpoint);
        FAIL("took over a live socket");
    } catch (const std::system_error &e) {
        CHECK(e.code().value() == EADDRINUSE);
        CHECK(std::string(e.what()).find("another process listens on it (its queue is full)") !=
              std::string::npos);
    }
    CHECK(exists(a));
}

TEST_CASE("a reload changes a kept listener's ,proxy option, not its socket", "[listen]")
{
    Fixture f;
    const std::string a = f.dir + "/a.sock";
    f.set.open({ parse("unix:" + a) });
    REQUIRE(f.set.size() == 1);
    f.set.update({ parse("unix:" + a + ",proxy") });
    CHECK(f.set.size() == 1);
    CHECK(exists(a));
    CHECK(listenPlan({ parse("127.0.0.1:0,proxy") }).front().proxy);
    CHECK_FALSE(listenPlan({ parse("127.0.0.1:0") }).front().proxy);
}
