#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "acl.h"
#include "common/unique_fd.h"
#include "event_loop.h"

namespace pisock {

// What `allow = lan` matches: the subnets of the addresses configured on this machine's
// interfaces, IPv4 and IPv6 (global prefixes, ULA, link-local, loopback), kept current from the
// kernel's address notifications on a NETLINK_ROUTE socket in the loop: an address the ISP
// renumbers, or a cable unplugged, is followed without a reload and without polling. Owns the
// socket and the list; borrows the loop.
class LanPrefixes final : public IoHandler, public NetworkSet
{
public:
    LanPrefixes() = default;
    LanPrefixes(const LanPrefixes &) = delete;
    LanPrefixes &operator=(const LanPrefixes &) = delete;

    // Opens the socket (subscribed to IPv4 and IPv6 address changes), reads the addresses the
    // kernel has now (waiting for that answer, at most a few seconds: startup only) and
    // registers with the loop. Throws std::system_error.
    void open(EventLoop &loop);
    void onIo(std::uint32_t events) noexcept override;
    void onResume() noexcept override { readAll(); }

    [[nodiscard]] bool contains(bool v6, const std::uint8_t *addr) const noexcept override;
    // The networks matched now, each once ("192.168.1.0/24", "2001:db8:1::/64").
    [[nodiscard]] std::vector<Cidr> networks() const;

    // One interface address from the kernel (RTM_NEWADDR / RTM_DELADDR), for open() and tests.
    void added(int ifindex, const Cidr &address);
    void removed(int ifindex, const Cidr &address) noexcept;
    // Applies the netlink messages of one read (notifications, a dump's parts and its end).
    void apply(const std::uint8_t *data, std::size_t size) noexcept;

private:
    struct Entry {
        int ifindex = 0;
        Cidr address; // the address itself, with its prefix length
        Cidr network; // the address with the host bits cleared
        unsigned generation = 0;
    };

    void requestDump();
    void readAll() noexcept;
    void dumpDone() noexcept;
    void applyOne(std::uint16_t type, const std::uint8_t *payload, std::size_t size) noexcept;

    EventLoop *loop_ = nullptr;
    UniqueFd fd_;
    std::vector<Entry> entries_;
    std::uint32_t dumpSeq_ = 0;
    unsigned generation_ = 0; // entries the last dump did not list are gone
    bool dumping_ = false;
    bool dumpAgain_ = false; // notifications were lost during a dump: one more after it
};

} // namespace pisock
