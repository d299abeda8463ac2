#include "daemon/socket_options.h"

#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/unique_fd.h"
#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;

namespace {

// The server's end of a loopback TCP connection.
UniqueFd acceptedSocket(UniqueFd &client)
{
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr *>(&addr), len) == 0);
    REQUIRE(::listen(listener.get(), 1) == 0);
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr *>(&addr), len) == 0);
    UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(accepted);
    return accepted;
}

int option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof(value);
    REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
    return value;
}

} // namespace

TEST_CASE("keepalive probes after the idle time, every third of it, three times", "[sockopt]")
{
    UniqueFd client;
    UniqueFd fd = acceptedSocket(client);
    REQUIRE(tuneAcceptedSocket(fd.get(), 60) == 0);
    CHECK(option(fd.get(), SOL_SOCKET, SO_KEEPALIVE) == 1);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE) == 60);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL) == 20);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_KEEPCNT) == 3);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_NODELAY) != 0);
}

TEST_CASE("short and longest keepalive times are accepted by the kernel", "[sockopt]")
{
    UniqueFd client;
    UniqueFd fd = acceptedSocket(client);
    REQUIRE(tuneAcceptedSocket(fd.get(), 1) == 0);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE) == 1);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL) == 1);
    REQUIRE(tuneAcceptedSocket(fd.get(), kMaxKeepaliveSec) == 0);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE) == static_cast<int>(kMaxKeepaliveSec));
}

TEST_CASE("keepalive 0 leaves keepalive off but still sets TCP_NODELAY", "[sockopt]")
{
    UniqueFd client;
    UniqueFd fd = acceptedSocket(client);
    REQUIRE(tuneAcceptedSocket(fd.get(), 0) == 0);
    CHECK(option(fd.get(), SOL_SOCKET, SO_KEEPALIVE) == 0);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_NODELAY) != 0);
}

TEST_CASE("a socket that is not TCP reports the error", "[sockopt]")
{
    const test::SocketPair pair;
    CHECK(tuneAcceptedSocket(pair.subject.get(), 60) < 0);
}

TEST_CASE("the descriptor limit is raised towards what is wanted, never lowered", "[sockopt]")
{
    rlimit before{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
    rlimit lower = before;
    lower.rlim_cur = 256;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lower) == 0);
    CHECK(raiseFdLimit(100) == 256);
    const auto want = static_cast<std::size_t>(
            before.rlim_max == RLIM_INFINITY ? 512 : std::min<rlim_t>(512, before.rlim_max));
    CHECK(raiseFdLimit(512) == want);
    rlimit now{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(now.rlim_cur == want);
    CHECK(now.rlim_max == before.rlim_max);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &before) == 0);
}
