#include "common/address.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <sys/un.h>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("IPv4, IPv6 and unix endpoints parse", "[address]")
{
    std::string error;
    auto v4 = parseEndpoint("0.0.0.0:8888", error);
    REQUIRE(v4);
    CHECK(v4->kind == Endpoint::Kind::Inet);
    CHECK(v4->host == "0.0.0.0");
    CHECK(v4->port == 8888);

    auto v6 = parseEndpoint("[::1]:9000", error);
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 9000);
    CHECK(v6->toString() == "[::1]:9000");

    auto un = parseEndpoint("unix:/run/pisockd.sock", error);
    REQUIRE(un);
    CHECK(un->kind == Endpoint::Kind::Unix);
    CHECK(un->path == "/run/pisockd.sock");
    CHECK(un->toString() == "unix:/run/pisockd.sock");

    auto port0 = parseEndpoint("127.0.0.1:0", error);
    REQUIRE(port0);
    CHECK(port0->port == 0);

    auto bare = parseEndpoint("8888", error);
    REQUIRE(bare);
    CHECK(bare->host.empty());
    CHECK(bare->port == 8888);
}

TEST_CASE("bad endpoints say why", "[address]")
{
    std::string error;
    CHECK_FALSE(parseEndpoint("127.0.0.1:99999", error));
    CHECK(error.find("invalid port") != std::string::npos);
    CHECK_FALSE(parseEndpoint("::1:80", error));
    CHECK(error.find("brackets") != std::string::npos);
    CHECK_FALSE(parseEndpoint("[::1]80", error));
    CHECK_FALSE(parseEndpoint("unix:", error));
    CHECK_FALSE(parseEndpoint("host:", error));
    CHECK_FALSE(parseEndpoint("unix:/" + std::string(200, 'x'), error));
    CHECK(error.find("too long") != std::string::npos);
}

TEST_CASE("IPv4-mapped peers are shown as plain IPv4", "[address]")
{
    SocketAddress a;
    auto *in6 = reinterpret_cast<sockaddr_in6 *>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(5000);
    REQUIRE(::inet_pton(AF_INET6, "::ffff:192.0.2.7", &in6->sin6_addr) == 1);
    a.length = sizeof(*in6);
    CHECK(formatAddress(a) == "192.0.2.7:5000");

    REQUIRE(::inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr) == 1);
    CHECK(formatAddress(a) == "[2001:db8::1]:5000");
}

TEST_CASE("IPv4 and unix peers are formatted", "[address]")
{
    SocketAddress a;
    auto *in = reinterpret_cast<sockaddr_in *>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(8888);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.length = sizeof(*in);
    CHECK(formatAddress(a) == "127.0.0.1:8888");

    SocketAddress u;
    auto *un = reinterpret_cast<sockaddr_un *>(&u.storage);
    un->sun_family = AF_UNIX;
    std::strcpy(un->sun_path, "/run/x.sock");
    u.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen("/run/x.sock") +
                                      1);
    CHECK(formatAddress(u) == "unix:/run/x.sock");
    u.length = offsetof(sockaddr_un, sun_path);
    CHECK(formatAddress(u) == "unix");
}

TEST_CASE("ports are checked", "[address]")
{
    CHECK(parsePort("0") == 0);
    CHECK(parsePort("65535") == 65535);
    CHECK_FALSE(parsePort("65536"));
    CHECK_FALSE(parsePort("-1"));
    CHECK_FALSE(parsePort("80x"));
    CHECK_FALSE(parsePort(""));
}

TEST_CASE("a unix client is named unix whatever it bound to; IP peers by address", "[address]")
{
    SocketAddress u;
    auto *un = reinterpret_cast<sockaddr_un *>(&u.storage);
    un->sun_family = AF_UNIX;
    const char name[] = "\0x\n10.0.0.66:4242: admin says: reboot now\x1b[2K";
    std::memcpy(un->sun_path, name, sizeof(name) - 1);
    u.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + sizeof(name) - 1);
    CHECK(formatPeer(u) == "unix");
    std::strcpy(un->sun_path, "/tmp/192.0.2.1:5000");
    u.length = sizeof(sockaddr_un);
    CHECK(formatPeer(u) == "unix");

    SocketAddress a;
    auto *in = reinterpret_cast<sockaddr_in *>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(5000);
    in->sin_addr.s_addr = htonl(0xc0000201);
    a.length = sizeof(*in);
    CHECK(formatPeer(a) == "192.0.2.1:5000");
}

TEST_CASE("two spellings of one socket have one key", "[address]")
{
    auto key = [](const char *text) {
        std::string error;
        auto ep = parseEndpoint(text, error);
        REQUIRE(ep);
        return socketKey(*ep);
    };
    CHECK(key("9000") == key("[::]:9000"));
    CHECK(key("*:9000") == key("[::]:9000"));
    CHECK(key("[0::0]:9000") == key("[::]:9000"));
    CHECK(key("127.0.0.1:9000") == key("[::ffff:127.0.0.1]:9000"));
    CHECK(key("[2001:DB8::1]:80") == key("[2001:db8:0::1]:80"));
    CHECK(key("Pi.Local:80") == key("pi.local:80"));
    CHECK(key("unix:/run/a.sock") == key("unix:/run//./a.sock"));
    CHECK(key("0.0.0.0:9000") != key("[::]:9000")); // two sockets: [::] then takes IPv6 only
    CHECK(key("9000") != key("9001"));
    CHECK(key("unix:@a") != key("unix:/a"));
    CHECK(key("unix:@a") != key("unix:@a/"));
}
