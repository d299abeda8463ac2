// The server's side of ",proxy" listeners (docs/PROXY-PROTOCOL.md): only trusted proxies may
// connect; each connection's header must come within kHeaderTimeoutMs; the client it names is
// then checked (--allow/--deny, --max-per-host), logged and named as if it had connected
// itself. A proxy's own connection (v2 LOCAL, v1 UNKNOWN) is a health check: answered, logged
// at debug level only, never in a broadcast.

#include <sys/socket.h>

#include <fmt/format.h>

#include "server.h"

namespace pisock {

namespace {

// From accept to the last byte of the header. A proxy sends it with the connection, at once;
// a slow network still gets seconds. Past it the connection is closed.
constexpr std::uint64_t kHeaderTimeoutMs = 3000;

} // namespace

bool Server::trustedProxy(const SocketAddress &peer) const noexcept
{
    if (peer.family() == AF_UNIX)
        return true; // the socket file's permissions say who may connect
    return !settings_.trustedProxies.empty() && peerAllowed(peer, settings_.trustedProxies, {});
}

void Server::distrust(UniqueFd fd, const std::string &peer, const Listener &from) noexcept
{
    ++proxyRefused_;
    fd.reset(); // at once and without a word, as a denied client
    if (proxyLog_.allow(loop_.now()))
        log::warning("refused {} on {}: not a trusted proxy (--trusted-proxy); {} refused for a "
                     "PROXY header so far",
                     peer, from.address(), proxyRefused_);
}

void Server::awaitHeader(std::uint64_t id, const std::string &proxy, const Listener &from)
{
    awaiting_.emplace(id, AwaitingHeader{ proxy, from.address(), from.webSocket() });
    quiet_.insert(id);
    headerDeadlines_.emplace_back(loop_.now() + kHeaderTimeoutMs, id);
}

void Server::expireHeaders(std::uint64_t now) noexcept
{
    // Deadlines are all "accepted + constant": the queue is in deadline order.
    while (!headerDeadlines_.empty() && headerDeadlines_.front().first <= now) {
        const std::uint64_t id = headerDeadlines_.front().second;
        headerDeadlines_.pop_front();
        if (!awaiting_.contains(id))
            continue; // read, or gone
        onProxyRefused(id, fmt::format("no complete PROXY header within {} s",
                                       kHeaderTimeoutMs / 1000));
        if (auto it = connections_.find(id); it != connections_.end())
            it->second->abort("PROXY header timeout");
    }
}

void Server::onProxyRefused(std::uint64_t id, std::string_view why) noexcept
{
    ++proxyRefused_;
    const auto conn = connections_.find(id);
    if (conn == connections_.end())
        return;
    // From a proxy, this line says it all and the disconnect is for debugging; a client of a
    // plain listener had its connect line, and has its disconnect line.
    if (awaiting_.erase(id) > 0)
        quiet_.insert(id);
    // About a peer: rate-limited per host by the log (--log-rate).
    const log::Peer who{ conn->second->peer(), id };
    log::at(log::Level::Warning, &who, "refused: {}; {} refused for a PROXY header so far", why,
            proxyRefused_);
}

bool Server::admitProxied(std::uint64_t id, const SocketAddress &client, const AwaitingHeader &from,
                          std::string_view &refusal) noexcept
{
    const std::string &proxy = from.proxy;
    const std::string name = formatPeer(client);
    if (!peerAllowed(client, settings_.allow, settings_.deny,
                     settings_.allowLan ? lan_.get() : nullptr)) {
        ++denied_;
        refusal = refusalFor(from.webSocket, kNotAllowedLine);
        if (denyLog_.allow(loop_.now()))
            log::warning("denied {} through proxy {} (--allow/--deny); {} denied so far", name,
                         proxy, denied_);
        return false;
    }
    const PeerHost host = PeerHost::of(client, std::nullopt);
    if (settings_.maxPerHost > 0) {
        const auto it = perHost_.find(host);
        if (it != perHost_.end() && it->second >= settings_.maxPerHost) {
            refusal = refusalFor(from.webSocket, kBusyLine);
            ++busyRefused_;
            if (busyLog_.allow(loop_.now()))
                log::warning("refused {} through proxy {} (--max-per-host); {} refused so far",
                             name, proxy, busyRefused_);
            return false;
        }
    }
    hostOf_.emplace(id, host);
    ++perHost_[host];
    return true;
}

std::unique_ptr<Service> Server::onProxyHeader(std::uint64_t id, const ProxyHeader &header,
                                               std::string_view &refusal) noexcept
{
    const auto conn = connections_.find(id);
    const auto waiting = awaiting_.find(id);
    if (conn == connections_.end() || waiting == awaiting_.end())
        return nullptr;
    Connection &c = *conn->second;
    try {
        const AwaitingHeader from = std::move(waiting->second);
        awaiting_.erase(waiting);
        if (header.command == ProxyHeader::Command::Local) {
            const log::Peer who{ c.peer(), id };
            log::at(log::Level::Debug, &who, "health check (PROXY v{} {}) on {}", header.version,
                    header.version == 1 ? "UNKNOWN" : "LOCAL", from.listener);
            return makeService(c.peer(), id, from.webSocket, true); // stays quiet
        }
        if (!admitProxied(id, header.source, from, refusal))
            return nullptr; // quiet: the refusal was logged
        quiet_.erase(id);
        ++served_;
        c.setPeer(formatPeer(header.source));
        const log::Peer who{ c.peer(), id, nullptr, from.proxy, header.commonName };
        log::at(log::Level::Info, &who, "connected on {} through proxy {} (PROXY v{}){}",
                from.listener, from.proxy, header.version,
                header.commonName.empty() ? std::string()
                                          : fmt::format(", TLS client {}", header.commonName));
        return makeService(c.peer(), id, from.webSocket);
    } catch (const std::bad_alloc &) {
        ++oomClosed_;
        if (oomLog_.allow(loop_.now()))
            log::error("out of memory reading a PROXY header, closing {}", c.peer());
        return nullptr; // the stage ends the connection
    }
}

} // namespace pisock
