#include "lan_prefixes.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <system_error>

#include "common/units.h"
#include "log.h"

namespace pisock {

namespace {

// Enough for the whole answer of a busy machine's dump in a few reads; netlink messages never
// span two reads.
constexpr std::size_t kReadSize = 32 * kKiB;
// The initial dump is a local kernel answer: seconds would mean something is very wrong.
constexpr int kDumpWaitMs = 5000;

Cidr networkOf(const Cidr &address) noexcept
{
    Cidr network = address;
    const unsigned bytes = address.v6 ? 16 : 4;
    for (unsigned i = 0; i < bytes; ++i) {
        const unsigned first = i * 8;
        if (address.prefix <= first)
            network.network[i] = 0;
        else if (address.prefix < first + 8)
            network.network[i] &= static_cast<std::uint8_t>(0xff << (first + 8 - address.prefix));
    }
    return network;
}

// The interface address an RTM_NEWADDR / RTM_DELADDR message names, if it is IPv4 or IPv6.
// IPv4 keeps its own address in IFA_LOCAL (IFA_ADDRESS is the far end of a point-to-point
// link); IPv6 in IFA_ADDRESS.
bool parseAddress(const std::uint8_t *payload, std::size_t size, int &ifindex, Cidr &out) noexcept
{
    if (size < NLMSG_ALIGN(sizeof(ifaddrmsg)))
        return false;
    ifaddrmsg ifa{};
    std::memcpy(&ifa, payload, sizeof(ifa));
    if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
        return false;
    out = Cidr{};
    out.v6 = ifa.ifa_family == AF_INET6;
    out.prefix = std::min<unsigned>(ifa.ifa_prefixlen, out.v6 ? 128 : 32);
    ifindex = static_cast<int>(ifa.ifa_index);
    const std::size_t want = out.v6 ? 16 : 4;
    const std::uint8_t *address = nullptr;
    const std::uint8_t *local = nullptr;
    std::size_t offset = NLMSG_ALIGN(sizeof(ifaddrmsg));
    while (offset + sizeof(rtattr) <= size) {
        rtattr attr{};
        std::memcpy(&attr, payload + offset, sizeof(attr));
        if (attr.rta_len < sizeof(rtattr) || offset + attr.rta_len > size)
            break;
        const std::size_t length = attr.rta_len - RTA_LENGTH(0);
        const std::uint8_t *data = payload + offset + RTA_LENGTH(0);
        if (length == want && attr.rta_type == IFA_ADDRESS)
            address = data;
        else if (length == want && attr.rta_type == IFA_LOCAL)
            local = data;
        offset += RTA_ALIGN(attr.rta_len);
    }
    const std::uint8_t *own = out.v6 ? address : (local ? local : address);
    if (!own)
        return false;
    std::copy_n(own, want, out.network.begin());
    return true;
}

} // namespace

void LanPrefixes::open(EventLoop &loop)
{
    loop_ = &loop;
    fd_.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd_)
        throw std::system_error(errno, std::system_category(), "allow = lan: netlink socket");
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr *>(&local), sizeof(local)) != 0)
        throw std::system_error(errno, std::system_category(), "allow = lan: netlink bind");
    requestDump();
    // Clients may come as soon as the daemon is ready: the addresses must be known by then.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDumpWaitMs);
    while (dumping_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
        pollfd p{ fd_.get(), POLLIN, 0 };
        const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            throw std::system_error(ready < 0 ? errno : ETIMEDOUT, std::system_category(),
                                    "allow = lan: reading this machine's addresses");
        readAll();
    }
    if (const int err = loop.add(fd_.get(), *this, EPOLLIN); err < 0)
        throw std::system_error(-err, std::system_category(), "allow = lan: epoll_ctl");
}

void LanPrefixes::requestDump()
{
    struct {
        nlmsghdr header;
        ifaddrmsg body;
    } request{};
    request.header.nlmsg_len = sizeof(request);
    request.header.nlmsg_type = RTM_GETADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = ++dumpSeq_;
    request.body.ifa_family = AF_UNSPEC;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ++generation_;
    dumping_ = true;
    if (::sendto(fd_.get(), &request, sizeof(request), 0,
                 reinterpret_cast<const sockaddr *>(&kernel), sizeof(kernel)) < 0) {
        dumping_ = false;
        throw std::system_error(errno, std::system_category(), "allow = lan: RTM_GETADDR");
    }
}

void LanPrefixes::onIo(std::uint32_t) noexcept
{
    readAll();
}

void LanPrefixes::readAll() noexcept
{
    alignas(nlmsghdr) std::uint8_t buffer[kReadSize];
    std::size_t reads = 0;
    for (;;) {
        if (++reads > 64) {
            loop_->defer(*this); // ET: a flood of changes waits for the next turn, not others
            return;
        }
        const ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
        if (n > 0) {
            apply(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ENOBUFS) {
            // The kernel dropped notifications: ask for the whole list again.
            log::warning("allow = lan: address changes lost (ENOBUFS), reading them again");
            if (dumping_) {
                dumpAgain_ = true;
                continue;
            }
            try {
                requestDump();
            } catch (const std::system_error &e) {
                log::error("{}; the networks known so far stay", e.what());
            }
            continue;
        }
        if (n < 0 && errno != EAGAIN)
            log::error("allow = lan: netlink: {}", std::strerror(errno));
        return;
    }
}

void LanPrefixes::apply(const std::uint8_t *data, std::size_t size) noexcept
{
    std::size_t offset = 0;
    while (offset + sizeof(nlmsghdr) <= size) {
        nlmsghdr header{};
        std::memcpy(&header, data + offset, sizeof(header));
        if (header.nlmsg_len < sizeof(nlmsghdr) || offset + header.nlmsg_len > size)
            return;
        const std::uint8_t *payload = data + offset + NLMSG_HDRLEN;
        const std::size_t length = header.nlmsg_len - NLMSG_HDRLEN;
        if (header.nlmsg_type == NLMSG_DONE || header.nlmsg_type == NLMSG_ERROR) {
            if (dumping_ && header.nlmsg_seq == dumpSeq_)
                dumpDone();
        } else {
            applyOne(header.nlmsg_type, payload, length);
        }
        offset += NLMSG_ALIGN(header.nlmsg_len);
    }
}

void LanPrefixes::applyOne(std::uint16_t type, const std::uint8_t *payload,
                           std::size_t size) noexcept
{
    if (type != RTM_NEWADDR && type != RTM_DELADDR)
        return;
    int ifindex = 0;
    Cidr address;
    if (!parseAddress(payload, size, ifindex, address))
        return;
    try {
        if (type == RTM_NEWADDR)
            added(ifindex, address);
        else
            removed(ifindex, address);
    } catch (const std::bad_alloc &) {
        log::error("allow = lan: out of memory, {} not added", address.toString());
    }
}

void LanPrefixes::added(int ifindex, const Cidr &address)
{
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry &e) {
        return e.ifindex == ifindex && e.address == address;
    });
    if (it != entries_.end()) {
        it->generation = generation_; // renewed (lifetimes), or listed again by a dump
        return;
    }
    const Cidr network = networkOf(address);
    const bool known = std::any_of(entries_.begin(), entries_.end(),
                                   [&](const Entry &e) { return e.network == network; });
    entries_.push_back({ ifindex, address, network, generation_ });
    if (!known && !dumping_)
        log::info("allow = lan: now serving {} (an address was added)", network.toString());
}

void LanPrefixes::removed(int ifindex, const Cidr &address) noexcept
{
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry &e) {
        return e.ifindex == ifindex && e.address == address;
    });
    if (it == entries_.end())
        return;
    const Cidr network = it->network;
    entries_.erase(it);
    const bool still = std::any_of(entries_.begin(), entries_.end(),
                                   [&](const Entry &e) { return e.network == network; });
    if (!still)
        log::info("allow = lan: no longer serving {} (its last address was removed)",
                  network.toString());
}

void LanPrefixes::dumpDone() noexcept
{
    dumping_ = false;
    // What the dump did not list left while notifications were lost.
    std::erase_if(entries_, [&](const Entry &e) { return e.generation != generation_; });
    if (dumpAgain_) {
        dumpAgain_ = false;
        try {
            requestDump();
        } catch (const std::system_error &e) {
            log::error("{}; the networks known so far stay", e.what());
        }
    }
}

bool LanPrefixes::contains(bool v6, const std::uint8_t *addr) const noexcept
{
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry &e) { return e.network.contains(v6, addr); });
}

std::vector<Cidr> LanPrefixes::networks() const
{
    std::vector<Cidr> out;
    for (const Entry &e : entries_)
        if (std::find(out.begin(), out.end(), e.network) == out.end())
            out.push_back(e.network);
    return out;
}

} // namespace pisock
