#include "listen_set.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <system_error>

#include <fmt/format.h>

#include "check.h"
#include "log.h"

namespace pisock {

namespace {

constexpr std::uint16_t kDefaultPort = 8888;
constexpr std::string_view kProxySocketName = "proxy";

bool isListeningStream(int fd) noexcept
{
    int type = 0;
    int listening = 0;
    socklen_t len = sizeof(type);
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return false;
    len = sizeof(listening);
    return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

} // namespace

bool isWebSocketName(std::string_view name) noexcept
{
    return name == "ws" || name.starts_with("ws-");
}

std::vector<ListenPlan> listenPlan(const std::vector<ListenAddress> &addresses, bool reusePort)
{
    std::vector<ListenPlan> plan;
    if (addresses.empty()) {
        plan.push_back({ Endpoint{ Endpoint::Kind::Inet, "::", kDefaultPort, {} }, true, true,
                         reusePort });
        return plan;
    }
    for (const auto &address : addresses) {
        const Endpoint &ep = address.endpoint;
        // "[::]:P" next to "0.0.0.0:P" would collide unless it stays IPv6-only.
        const bool v4AnyToo =
                std::any_of(addresses.begin(), addresses.end(), [&](const ListenAddress &o) {
                    return o.endpoint.kind == Endpoint::Kind::Inet && o.endpoint.port == ep.port &&
                           o.endpoint.host == "0.0.0.0";
                });
        plan.push_back({ ep, !v4AnyToo, false, reusePort, address.proxy });
    }
    return plan;
}

ListenSet::ListenSet(EventLoop &loop, AcceptSink &sink, SpareFd &spare)
    : loop_(loop), sink_(sink), spare_(spare)
{
}

ListenSet::~ListenSet() = default;

void ListenSet::announce(const Listener &listener, const std::string &origin)
{
    log::info("listening on {}{}{}{}", listener.webSocket() ? "ws:" : "", listener.address(),
              origin, listener.proxy() ? ", for clients through a proxy (PROXY protocol)" : "");
    // No file, so no permissions: unlike a socket file, nothing limits who connects.
    if (listener.address().starts_with("unix:@"))
        log::warning("{} is an abstract unix socket: it has no file permissions, so any process "
                     "in this network namespace can connect to it (--allow and --deny do not "
                     "apply to unix sockets)",
                     listener.address());
}

void ListenSet::start(Entry entry, const std::string &origin)
{
    entry.listener->start();
    announce(*entry.listener, origin);
    entries_.push_back(std::move(entry));
}

void ListenSet::adopt(int first, const std::vector<std::string> &names)
{
    activated_ = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const int fd = first + static_cast<int>(i);
        const std::string origin = names[i].empty() ? fmt::format(" (socket activation, fd {})", fd)
                                                    : fmt::format(" (socket {})", names[i]);
        if (!isListeningStream(fd))
            throw std::system_error(
                    EINVAL, std::system_category(),
                    fmt::format("socket {} passed by the service manager is not a listening "
                                "stream socket",
                                names[i].empty() ? fmt::format("fd {}", fd)
                                                 : fmt::format("{} (fd {})", names[i], fd)));
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        // systemd keeps its own copy: closing ours never unlinks or closes its socket.
        auto listener = std::make_unique<Listener>(loop_, UniqueFd(fd), sink_, spare_);
        // FileDescriptorName=proxy: the socket unit's way to say ",proxy"; ws, ws-...: "ws:".
        listener->setProxy(names[i] == kProxySocketName);
        listener->setWebSocket(isWebSocketName(names[i]));
        start(Entry{ fmt::format("fd {}", fd), std::move(listener) }, origin);
    }
}

UniqueFd openPlanned(const ListenPlan &plan, bool &ipv4Only)
{
    ipv4Only = false;
    try {
        return openListenSocket(plan.endpoint, plan.dualStack, plan.reusePort);
    } catch (const std::system_error &e) {
        if (!plan.fallbackToIpv4 || e.code().value() != EAFNOSUPPORT)
            throw;
    }
    ipv4Only = true;
    return openListenSocket(Endpoint{ Endpoint::Kind::Inet, "0.0.0.0", plan.endpoint.port, {} },
                            true, plan.reusePort);
}

ListenSet::Entry ListenSet::openOne(const ListenPlan &plan)
{
    const Endpoint &ep = plan.endpoint;
    bool ipv4Only = false;
    UniqueFd fd = openPlanned(plan, ipv4Only);
    if (ipv4Only)
        log::notice("IPv6 unavailable, listening on IPv4 only");
    auto listener = std::make_unique<Listener>(loop_, std::move(fd), sink_, spare_);
    if (ep.kind == Endpoint::Kind::Unix)
        listener->setUnlinkOnClose(ep.path); // it created the file
    listener->setProxy(plan.proxy);
    listener->setWebSocket(ep.webSocket);
    return Entry{ socketKey(ep), std::move(listener) };
}

void ListenSet::open(const std::vector<ListenAddress> &addresses)
{
    for (const auto &plan : listenPlan(addresses, reusePort_)) {
        try {
            start(openOne(plan), {});
        } catch (const std::system_error &e) {
            // What --check would say, before the error itself (which main logs).
            if (const std::string hint = listenHint(plan.endpoint, e.code().value()); !hint.empty())
                log::error("{}", hint);
            throw;
        }
    }
}

void ListenSet::update(const std::vector<ListenAddress> &addresses)
{
    const std::vector<ListenPlan> plan = listenPlan(addresses, reusePort_);
    auto has = [this](const std::string &key) {
        return std::any_of(entries_.begin(), entries_.end(),
                           [&](const Entry &e) { return e.key == key; });
    };
    // Open everything new before changing anything, so a failure leaves the set as it was.
    std::vector<Entry> added;
    try {
        for (const auto &p : plan)
            if (const std::string key = socketKey(p.endpoint); !has(key))
                added.push_back(openOne(p));
        for (auto &e : added)
            e.listener->start();
    } catch (...) {
        for (auto &e : added)
            retire(e);
        throw;
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
        const auto kept = std::find_if(plan.begin(), plan.end(), [&](const ListenPlan &p) {
            return socketKey(p.endpoint) == it->key;
        });
        if (kept != plan.end()) {
            if (kept->proxy != it->listener->proxy()) {
                it->listener->setProxy(kept->proxy);
                log::info("{}: new clients {}", it->listener->address(),
                          kept->proxy ? "come through a proxy (PROXY protocol)"
                                      : "connect directly (no PROXY header)");
            }
            // The same socket may change what it speaks ("8080" to "ws:8080"): new clients do.
            it->listener->setWebSocket(kept->endpoint.webSocket);
            ++it;
            continue;
        }
        log::info("no longer listening on {}; its clients stay connected", it->listener->address());
        retire(*it);
        it = entries_.erase(it);
    }
    for (auto &e : added) {
        announce(*e.listener, {});
        entries_.push_back(std::move(e));
    }
}

void ListenSet::retire(Entry &entry) noexcept
{
    // Its events of this batch may still name it: the loop destroys it after the batch.
    entry.listener->close();
    loop_.retire(std::move(entry.listener));
}

void ListenSet::closeAll() noexcept
{
    for (auto &e : entries_)
        retire(e);
    entries_.clear();
}

void ListenSet::retry() noexcept
{
    for (auto &e : entries_)
        e.listener->retry();
}

} // namespace pisock
