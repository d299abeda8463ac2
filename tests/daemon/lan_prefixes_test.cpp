#include "daemon/lan_prefixes.h"

#include <arpa/inet.h>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

namespace {

// One RTM_NEWADDR or RTM_DELADDR message as the kernel sends it: the address in IFA_ADDRESS
// (and, for IPv4, IFA_LOCAL; peer holds IFA_ADDRESS then, as on a point-to-point link).
std::vector<std::uint8_t> addressMessage(std::uint16_t type, const char *address, unsigned prefix,
                                         int ifindex = 2, const char *peer = nullptr)
{
    const bool v6 = std::strchr(address, ':') != nullptr;
    const std::size_t size = v6 ? 16 : 4;
    std::uint8_t local[16] = {};
    std::uint8_t far[16] = {};
    REQUIRE(::inet_pton(v6 ? AF_INET6 : AF_INET, address, local) == 1);
    if (peer)
        REQUIRE(::inet_pton(AF_INET, peer, far) == 1);
    // Sized once: IFA_ADDRESS, and IFA_LOCAL for IPv4.
    std::vector<std::uint8_t> out(NLMSG_SPACE(sizeof(ifaddrmsg)) + RTA_SPACE(size) * (v6 ? 1 : 2));
    std::size_t at = NLMSG_SPACE(sizeof(ifaddrmsg));
    auto attribute = [&](std::uint16_t kind, const std::uint8_t *data) {
        rtattr attr{};
        attr.rta_len = static_cast<std::uint16_t>(RTA_LENGTH(size));
        attr.rta_type = kind;
        std::memcpy(out.data() + at, &attr, sizeof(attr));
        std::memcpy(out.data() + at + RTA_LENGTH(0), data, size);
        at += RTA_SPACE(size);
    };
    attribute(IFA_ADDRESS, peer ? far : local);
    if (!v6)
        attribute(IFA_LOCAL, local);
    nlmsghdr header{};
    header.nlmsg_len = static_cast<std::uint32_t>(out.size());
    header.nlmsg_type = type;
    ifaddrmsg ifa{};
    ifa.ifa_family = v6 ? AF_INET6 : AF_INET;
    ifa.ifa_prefixlen = static_cast<std::uint8_t>(prefix);
    ifa.ifa_index = static_cast<std::uint32_t>(ifindex);
    std::memcpy(out.data(), &header, sizeof(header));
    std::memcpy(out.data() + NLMSG_HDRLEN, &ifa, sizeof(ifa));
    return out;
}

bool served(const LanPrefixes &lan, const char *address)
{
    const bool v6 = std::strchr(address, ':') != nullptr;
    std::uint8_t bytes[16] = {};
    REQUIRE(::inet_pton(v6 ? AF_INET6 : AF_INET, address, bytes) == 1);
    return lan.contains(v6, bytes);
}

void feed(LanPrefixes &lan, const std::vector<std::uint8_t> &message)
{
    lan.apply(message.data(), message.size());
}

} // namespace

TEST_CASE("an interface address makes its whole subnet served, IPv4 and IPv6", "[lan]")
{
    LanPrefixes lan;
    CHECK_FALSE(served(lan, "192.168.1.20"));
    feed(lan, addressMessage(RTM_NEWADDR, "192.168.1.5", 24));
    feed(lan, addressMessage(RTM_NEWADDR, "2001:db8:1::1", 64));
    CHECK(served(lan, "192.168.1.20"));
    CHECK_FALSE(served(lan, "192.168.2.20"));
    CHECK(served(lan, "2001:db8:1::abcd"));
    CHECK_FALSE(served(lan, "2001:db8:2::1"));
    REQUIRE(lan.networks().size() == 2);
    CHECK(lan.networks()[0].toString() == "192.168.1.0/24");
    CHECK(lan.networks()[1].toString() == "2001:db8:1::/64");
}

TEST_CASE("a subnet stays while one of its addresses is left", "[lan]")
{
    LanPrefixes lan;
    feed(lan, addressMessage(RTM_NEWADDR, "2001:db8:1::1", 64, 2));
    feed(lan, addressMessage(RTM_NEWADDR, "2001:db8:1::2", 64, 3));
    feed(lan, addressMessage(RTM_NEWADDR, "2001:db8:1::1", 64, 2)); // renewed: no duplicate
    CHECK(lan.networks().size() == 1);
    feed(lan, addressMessage(RTM_DELADDR, "2001:db8:1::1", 64, 2));
    CHECK(served(lan, "2001:db8:1::99"));
    feed(lan, addressMessage(RTM_DELADDR, "2001:db8:1::2", 64, 3));
    CHECK_FALSE(served(lan, "2001:db8:1::99"));
    CHECK(lan.networks().empty());
}

TEST_CASE("IPv4 takes its own address from IFA_LOCAL, not the far end of the link", "[lan]")
{
    LanPrefixes lan;
    feed(lan, addressMessage(RTM_NEWADDR, "10.8.0.1", 24, 4, "172.16.5.5"));
    CHECK(served(lan, "10.8.0.77"));
    CHECK_FALSE(served(lan, "172.16.5.5"));
}

TEST_CASE("truncated and foreign messages change nothing", "[lan]")
{
    LanPrefixes lan;
    auto message = addressMessage(RTM_NEWADDR, "192.168.1.5", 24);
    lan.apply(message.data(), message.size() - 1); // the length says more than there is
    lan.apply(message.data(), 3);
    CHECK(lan.networks().empty());
    auto link = addressMessage(RTM_NEWLINK, "192.168.1.5", 24);
    feed(lan, link);
    CHECK(lan.networks().empty());
}
