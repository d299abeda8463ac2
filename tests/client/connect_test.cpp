#include "client/connect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "client/mdns_hint.h"
#include "tests/catch.h"

using namespace pisock;

namespace {

// A loopback TCP socket on a free port; listening or only bound (connections refused).
UniqueFd loopback(bool listening)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0);
    if (listening)
        REQUIRE(::listen(fd.get(), 8) == 0);
    return fd;
}

SocketAddress addressOf(int fd)
{
    SocketAddress a;
    ::getsockname(fd, a.get(), &a.length);
    return a;
}

} // namespace

TEST_CASE("every address is tried in order until one accepts", "[client][connect]")
{
    UniqueFd closed = loopback(false);
    UniqueFd open = loopback(true);
    Failure failure;
    UniqueFd fd = connectAny({ addressOf(closed.get()), addressOf(open.get()) }, std::nullopt,
                             "test", failure);
    REQUIRE(fd);
    SocketAddress peer;
    ::getpeername(fd.get(), peer.get(), &peer.length);
    CHECK(formatAddress(peer) == formatAddress(addressOf(open.get())));
}

TEST_CASE("when every address refuses, the last reason is given", "[client][connect]")
{
    UniqueFd closed = loopback(false);
    Failure failure;
    UniqueFd fd = connectAny({ addressOf(closed.get()) }, std::nullopt, "pi:1", failure);
    CHECK_FALSE(fd);
    CHECK(failure.status == kStatusNetwork);
    CHECK(failure.reason == "cannot connect to pi:1 (" + formatAddress(addressOf(closed.get())) +
                                    "): Connection refused");
}

TEST_CASE("numeric hosts resolve without DNS, in the family asked for", "[client][connect]")
{
    Failure failure;
    auto v4 = resolve(Endpoint{ Endpoint::Kind::Inet, "127.0.0.1", 8888, {} }, AF_UNSPEC, failure);
    REQUIRE(v4);
    REQUIRE(v4->size() == 1);
    CHECK(formatAddress(v4->front()) == "127.0.0.1:8888");
    auto v6 = resolve(Endpoint{ Endpoint::Kind::Inet, "::1", 9000, {} }, AF_INET6, failure);
    REQUIRE(v6);
    CHECK(formatAddress(v6->front()) == "[::1]:9000");
    CHECK_FALSE(resolve(Endpoint{ Endpoint::Kind::Inet, "::1", 9000, {} }, AF_INET, failure));
    CHECK(failure.status == kStatusNetwork);
    CHECK(failure.reason.starts_with("cannot resolve '::1' (IPv4): "));
}

TEST_CASE("a unix endpoint gives its one address", "[client][connect]")
{
    Failure failure;
    auto a = resolve(Endpoint{ Endpoint::Kind::Unix, {}, 0, "/run/pisockd.sock" }, AF_UNSPEC,
                     failure);
    REQUIRE(a);
    REQUIRE(a->size() == 1);
    CHECK(formatAddress(a->front()) == "unix:/run/pisockd.sock");
    auto abstract = resolve(Endpoint{ Endpoint::Kind::Unix, {}, 0, "@pisock" }, AF_UNSPEC, failure);
    REQUIRE(abstract);
    CHECK(formatAddress(abstract->front()) == "unix:@pisock");
}

TEST_CASE("a .local name that does not resolve gets the mDNS hint for this machine",
          "[client][connect]")
{
    const std::string withoutMdns = "passwd: files\nhosts:          files dns\n";
    const std::string withMdns =
            "hosts: files mdns4_minimal [NOTFOUND=return] dns # mdns was added\n";
    CHECK(mdnsHint("raspberrypi.local", withoutMdns) ==
          "this machine does not resolve .local names (mDNS): sudo apt install libnss-mdns");
    CHECK(mdnsHint("RaspberryPi.LOCAL.", withoutMdns).has_value());
    CHECK(mdnsHint("raspberrypi.local", withMdns) ==
          ".local names are resolved by mDNS: is the device on this network, with avahi-daemon "
          "running?");
    CHECK(mdnsHint("raspberrypi.local", "# hosts: files mdns\nhosts: files dns\n") ==
          mdnsHint("raspberrypi.local", withoutMdns));
    CHECK_FALSE(mdnsHint("raspberrypi", withoutMdns).has_value());
    CHECK_FALSE(mdnsHint("example.com", withoutMdns).has_value());
    CHECK_FALSE(mdnsHint(".local", withoutMdns).has_value());
    CHECK_FALSE(mdnsHint("notlocal", withoutMdns).has_value());
}
