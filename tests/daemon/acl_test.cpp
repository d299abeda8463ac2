#include "daemon/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string>
#include <sys/un.h>

#include "tests/catch.h"

using namespace pisock;

namespace {

Cidr rule(const std::string &text)
{
    std::string error;
    auto cidr = parseCidr(text, error);
    INFO(text << ": " << error);
    REQUIRE(cidr);
    return *cidr;
}

std::string parseError(const std::string &text)
{
    std::string error;
    CHECK_FALSE(parseCidr(text, error));
    return error;
}

SocketAddress v4(const char *ip)
{
    SocketAddress a;
    auto *in = reinterpret_cast<sockaddr_in *>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(5000);
    REQUIRE(::inet_pton(AF_INET, ip, &in->sin_addr) == 1);
    a.length = sizeof(*in);
    return a;
}

SocketAddress v6(const char *ip)
{
    SocketAddress a;
    auto *in6 = reinterpret_cast<sockaddr_in6 *>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(5000);
    REQUIRE(::inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1);
    a.length = sizeof(*in6);
    return a;
}

} // namespace

TEST_CASE("networks and single hosts parse and print back", "[acl]")
{
    CHECK(rule("192.168.0.0/16").toString() == "192.168.0.0/16");
    CHECK(rule("10.1.2.3").toString() == "10.1.2.3/32");
    CHECK(rule("0.0.0.0/0").toString() == "0.0.0.0/0");
    CHECK(rule("fe80::/10").toString() == "fe80::/10");
    CHECK(rule("::1").toString() == "::1/128");
    CHECK(rule("::/0").toString() == "::/0");
    CHECK(rule("172.16.0.0/12").prefix == 12);
}

TEST_CASE("an IPv4-mapped rule is the IPv4 rule it stands for", "[acl]")
{
    const Cidr mapped = rule("::ffff:10.0.0.0/104");
    CHECK_FALSE(mapped.v6);
    CHECK(mapped == rule("10.0.0.0/8"));
    CHECK(rule("::ffff:192.0.2.7") == rule("192.0.2.7/32"));
}

TEST_CASE("bad rules are refused with a reason", "[acl]")
{
    CHECK(parseError("192.168.1.5/24").find("host bits set (the network is 192.168.1.0/24)") !=
          std::string::npos);
    CHECK(parseError("10.0.0.0/33").find("0 to 32") != std::string::npos);
    CHECK(parseError("::/129").find("0 to 128") != std::string::npos);
    CHECK(parseError("10.0.0.0/").find("prefix length") != std::string::npos);
    CHECK(parseError("10.0.0.0/8x").find("prefix length") != std::string::npos);
    CHECK(parseError("example.com").find("not an IPv4 or IPv6") != std::string::npos);
    CHECK(parseError("").find("not an IPv4 or IPv6") != std::string::npos);
    CHECK(parseError("10.0.0/8").find("not an IPv4 or IPv6") != std::string::npos);
}

TEST_CASE("prefixes match on bit boundaries", "[acl]")
{
    const std::vector<Cidr> allow = { rule("172.16.0.0/12") };
    CHECK(peerAllowed(v4("172.16.0.1"), allow, {}));
    CHECK(peerAllowed(v4("172.31.255.255"), allow, {}));
    CHECK_FALSE(peerAllowed(v4("172.32.0.0"), allow, {}));
    CHECK_FALSE(peerAllowed(v4("172.15.255.255"), allow, {}));
    const std::vector<Cidr> ula = { rule("fc00::/7") };
    CHECK(peerAllowed(v6("fd12:3456::1"), ula, {}));
    CHECK_FALSE(peerAllowed(v6("fe80::1"), ula, {}));
}

TEST_CASE("no rules allow everyone; an allow list allows only its networks", "[acl]")
{
    CHECK(peerAllowed(v4("203.0.113.9"), {}, {}));
    CHECK(peerAllowed(v6("2001:db8::1"), {}, {}));
    const std::vector<Cidr> lan = { rule("127.0.0.0/8"), rule("::1"), rule("192.168.0.0/16") };
    CHECK(peerAllowed(v4("127.0.0.1"), lan, {}));
    CHECK(peerAllowed(v6("::1"), lan, {}));
    CHECK(peerAllowed(v4("192.168.4.20"), lan, {}));
    CHECK_FALSE(peerAllowed(v4("203.0.113.9"), lan, {}));
    CHECK_FALSE(peerAllowed(v6("2001:db8::1"), lan, {}));
}

TEST_CASE("deny wins over allow, whatever the order", "[acl]")
{
    const std::vector<Cidr> allow = { rule("192.168.1.0/24") };
    const std::vector<Cidr> deny = { rule("192.168.1.13") };
    CHECK(peerAllowed(v4("192.168.1.12"), allow, deny));
    CHECK_FALSE(peerAllowed(v4("192.168.1.13"), allow, deny));
    // A deny with no allow list refuses only the denied network.
    CHECK(peerAllowed(v4("10.0.0.1"), {}, deny));
    CHECK_FALSE(peerAllowed(v4("192.168.1.13"), {}, deny));
    // Denying everything leaves nothing for a broader allow.
    CHECK_FALSE(peerAllowed(v4("192.168.1.12"), allow, { rule("0.0.0.0/0") }));
}

TEST_CASE("IPv4-mapped peers match IPv4 rules, not IPv6 ones", "[acl]")
{
    const std::vector<Cidr> loopback4 = { rule("127.0.0.0/8") };
    CHECK(peerAllowed(v6("::ffff:127.0.0.1"), loopback4, {}));
    CHECK_FALSE(peerAllowed(v6("::ffff:10.0.0.1"), loopback4, {}));
    CHECK_FALSE(peerAllowed(v6("::ffff:127.0.0.1"), {}, loopback4));
    // "::/0" is every IPv6 peer; an IPv4 client on a dual-stack socket is not one.
    const std::vector<Cidr> any6 = { rule("::/0") };
    CHECK(peerAllowed(v6("2001:db8::1"), any6, {}));
    CHECK_FALSE(peerAllowed(v6("::ffff:127.0.0.1"), any6, {}));
    CHECK(peerAllowed(v6("::ffff:127.0.0.1"), any6, { rule("::/0") }) == false);
    CHECK(peerAllowed(v6("::ffff:127.0.0.1"), {}, any6));
}

TEST_CASE("unix-socket peers are not subject to the rules", "[acl]")
{
    SocketAddress unixPeer;
    unixPeer.storage.ss_family = AF_UNIX;
    unixPeer.length = sizeof(sa_family_t);
    CHECK(peerAllowed(unixPeer, { rule("10.0.0.0/8") }, { rule("0.0.0.0/0"), rule("::/0") }));
}
