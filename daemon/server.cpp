#include "server.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <system_error>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "common/errors.h"
#include "log.h"
#include "socket_options.h"

namespace pisock {

namespace {

constexpr unsigned kTickMs = 250;
constexpr std::uint64_t kStatusIntervalMs = 1000;

std::string formatDuration(std::uint64_t ms)
{
    if (ms < 10000)
        return fmt::format("{}.{:03}s", ms / 1000, ms % 1000);
    return fmt::format("{}s", ms / 1000);
}

} // namespace

Server::Server(EventLoop &loop, CommandLine cmd, Settings settings)
    : loop_(loop), cmd_(std::move(cmd)), settings_(std::move(settings)),
      reserveFd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)), refusals_(loop, limits_.lingerMs)
{
    applySettings();
}

Server::~Server() = default;

void Server::applySettings() noexcept
{
    log::setLevel(settings_.logLevel);
    reply_.prefix = settings_.replyPrefix;
    reply_.maxMessage = settings_.maxMessage;
    limits_.highWater = settings_.highWater;
    limits_.lowWater = settings_.lowWater;
    // A whole message plus one read must fit; the service consumes the rest as it arrives.
    limits_.maxInput = settings_.maxMessage + limits_.ioBudget + 2;
}

void Server::addListener(UniqueFd fd, std::string unlinkPath)
{
    auto listener = std::make_unique<Listener>(loop_, std::move(fd), *this, reserveFd_);
    listener->setUnlinkOnClose(std::move(unlinkPath));
    listener->start();
    log::info("listening on {}", listener->address());
    listeners_.push_back(std::move(listener));
}

void Server::checkFdLimit() noexcept
{
    const std::size_t want = settings_.maxConnections + kSpareFds;
    const std::size_t have = raiseFdLimit(want);
    if (have < want)
        log::notice("descriptor limit {} is below --max-connections {} + {}: past about {} "
                    "clients, new ones get \"server busy\" (raise LimitNOFILE)",
                    have, settings_.maxConnections, kSpareFds,
                    have > kSpareFds ? have - kSpareFds : 0);
}

void Server::open()
{
    checkFdLimit();
    // Socket activation: systemd's sockets replace --listen (sd_listen_fds(3)).
    const int passed = ::sd_listen_fds(1);
    if (passed < 0)
        throw std::system_error(-passed, std::system_category(), "sd_listen_fds");
    if (passed > 0) {
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + passed; ++fd) {
            if (::sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
                throw std::system_error(EINVAL, std::system_category(),
                                        fmt::format("passed fd {} is not a listening stream socket",
                                                    fd));
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            addListener(UniqueFd(fd), {});
        }
        return;
    }

    std::vector<Endpoint> endpoints = settings_.listen;
    const bool defaults = endpoints.empty();
    if (defaults)
        endpoints.push_back(Endpoint{ Endpoint::Kind::Inet, "::", 8888, {} });
    for (const auto &ep : endpoints) {
        // "[::]:P" next to "0.0.0.0:P" would collide unless it stays IPv6-only.
        const bool v4AnyToo =
                std::any_of(endpoints.begin(), endpoints.end(), [&](const Endpoint &o) {
                    return o.kind == Endpoint::Kind::Inet && o.port == ep.port &&
                           (o.host == "0.0.0.0");
                });
        UniqueFd fd;
        try {
            fd = openListenSocket(ep, !v4AnyToo);
        } catch (const std::system_error &e) {
            // A Pi with IPv6 disabled: the default falls back to IPv4.
            if (!defaults || e.code().value() != EAFNOSUPPORT)
                throw;
            const Endpoint v4{ Endpoint::Kind::Inet, "0.0.0.0", ep.port, {} };
            log::notice("IPv6 unavailable, listening on IPv4 only");
            fd = openListenSocket(v4);
        }
        addListener(std::move(fd), ep.kind == Endpoint::Kind::Unix ? ep.path : std::string());
    }
}

std::unique_ptr<Service> Server::makeService(const std::string &peer, std::uint64_t id)
{
    if (settings_.mode == Mode::Echo)
        return std::make_unique<EchoService>();
    return std::make_unique<LineService>(reply_, settings_.framing, peer, id);
}

void Server::refuse(UniqueFd fd, const std::string &peer, const char *why) noexcept
{
    ++busyRefused_;
    refusals_.refuse(std::move(fd), kBusyLine);
    // Rate-limited: a flood of refused clients must not flood the log.
    if (lastBusyLogMs_ == 0 || loop_.now() - lastBusyLogMs_ >= 1000) {
        log::warning("refused {} ({}); {} refused so far", peer, why, busyRefused_);
        lastBusyLogMs_ = loop_.now();
    }
}

void Server::deny(UniqueFd fd, const std::string &peer) noexcept
{
    ++denied_;
    fd.reset(); // at once, and without a word: nothing to learn for a peer not allowed
    if (lastDenyLogMs_ == 0 || loop_.now() - lastDenyLogMs_ >= 1000) {
        log::warning("denied {} (--allow/--deny); {} denied so far", peer, denied_);
        lastDenyLogMs_ = loop_.now();
    }
}

void Server::onAccept(UniqueFd fd, const SocketAddress &peer, Listener &from) noexcept
{
    try {
        if (!peerAllowed(peer, settings_.allow, settings_.deny)) {
            deny(std::move(fd), formatAddress(peer));
            return;
        }
        if (connections_.size() >= settings_.maxConnections) {
            refuse(std::move(fd), formatAddress(peer), "server busy");
            return;
        }
        if (peer.family() != AF_UNIX)
            tuneAcceptedSocket(fd.get(), settings_.keepaliveSec);
        const std::uint64_t id = nextId_++;
        const std::string name = formatAddress(peer);
        auto conn = std::make_unique<Connection>(loop_, std::move(fd), peer, id,
                                                 makeService(name, id), limits_, *this);
        Connection &ref = *conn;
        ref.watchIdle(idle_);
        connections_.emplace(id, std::move(conn));
        ++served_;
        const log::Peer who{ ref.peer(), id };
        log::at(log::Level::Info, &who, "connected on {}", from.address());
        ref.start();
    } catch (const std::bad_alloc &) {
        log::error("out of memory accepting a client, refusing it");
    }
}

void Server::onClosed(Connection &connection) noexcept
{
    const log::Peer who{ connection.peer(), connection.id() };
    log::at(log::Level::Info, &who,
            "disconnected ({}) after {}, {} bytes in, {} bytes out, {} messages",
            connection.closeReason(), formatDuration(loop_.now() - connection.startedMs()),
            connection.bytesIn(), connection.bytesOut(), connection.messages());
    messages_ += connection.messages();
    auto it = connections_.find(connection.id());
    if (it != connections_.end()) {
        loop_.retire(std::move(it->second)); // events of this batch may still name it
        connections_.erase(it);
    }
    if (stopping_ && connections_.empty())
        loop_.stop();
}

void Server::onLinger(Connection &connection) noexcept
{
    lingering_.emplace_back(connection.lingerDeadline(), connection.id());
}

void Server::onTick() noexcept
{
    const std::uint64_t now = loop_.now();
    // Linger deadlines are all "now + constant": the queue is in deadline order.
    while (!lingering_.empty() && lingering_.front().first <= now) {
        auto it = connections_.find(lingering_.front().second);
        lingering_.pop_front();
        if (it != connections_.end())
            it->second->checkLinger(now);
    }
    refusals_.expire(now);
    closeIdle(now);
    // Out of descriptors earlier: take the spare back before accepting again.
    if (!reserveFd_)
        reserveFd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    for (auto &listener : listeners_)
        listener->retry();
    if (stopping_ && now >= stopDeadline_) {
        std::vector<Connection *> left;
        for (auto &[id, conn] : connections_)
            left.push_back(conn.get());
        if (!left.empty())
            log::warning("shutdown timeout: closing {} clients still busy", left.size());
        for (Connection *conn : left)
            conn->abort("shutdown timeout");
        loop_.stop();
    }
    updateStatus(false);
}

void Server::closeIdle(std::uint64_t now) noexcept
{
    if (settings_.idleTimeoutSec == 0)
        return;
    // Only the least recently active are looked at: the cost does not grow with the number of
    // connections.
    while (auto *node = idle_.popExpired(now, settings_.idleTimeoutSec * 1000ull))
        static_cast<Connection *>(node)->abort("idle timeout");
}

void Server::updateStatus(bool force) noexcept
{
    const std::uint64_t now = loop_.now();
    if (!force && now - lastStatusMs_ < kStatusIntervalMs)
        return;
    std::uint64_t messages = messages_;
    for (auto &[id, conn] : connections_)
        messages += conn->messages();
    std::string status = fmt::format("{} clients now, {} served, {} messages", connections_.size(),
                                     served_, messages);
    if (status == lastStatus_)
        return;
    lastStatusMs_ = now;
    ::sd_notifyf(0, "STATUS=%s", status.c_str());
    lastStatus_ = std::move(status);
}

void Server::stop() noexcept
{
    if (stopping_)
        return;
    stopping_ = true;
    ::sd_notify(0, "STOPPING=1");
    log::info("stopping: {} clients to finish", connections_.size());
    for (auto &listener : listeners_) {
        listener->close();
        loop_.retire(std::move(listener));
    }
    listeners_.clear();
    stopDeadline_ = loop_.now() + settings_.shutdownTimeoutSec * 1000ull;
    std::vector<Connection *> open;
    for (auto &[id, conn] : connections_)
        open.push_back(conn.get());
    for (Connection *conn : open)
        conn->drain(); // may close and retire it: the list above stays valid this batch
    if (connections_.empty())
        loop_.stop();
}

void Server::reload() noexcept
{
    ::sd_notify(0, "RELOADING=1");
    try {
        Settings next = loadSettings(cmd_);
        const bool restartNeeded = next.mode != settings_.mode || next.framing != settings_.framing;
        settings_.replyPrefix = next.replyPrefix;
        settings_.maxMessage = next.maxMessage;
        settings_.maxConnections = next.maxConnections;
        settings_.highWater = next.highWater;
        settings_.lowWater = next.lowWater;
        settings_.shutdownTimeoutSec = next.shutdownTimeoutSec;
        settings_.logLevel = next.logLevel;
        settings_.idleTimeoutSec = next.idleTimeoutSec;
        settings_.keepaliveSec = next.keepaliveSec;
        settings_.allow = std::move(next.allow);
        settings_.deny = std::move(next.deny);
        applySettings();
        checkFdLimit();
        log::info("configuration reloaded{}",
                  restartNeeded ? "; mode and framing apply after a restart" : "");
    } catch (const std::exception &e) {
        log::error("reload rejected, old settings kept: {}", e.what());
    }
    ::sd_notify(0, "READY=1");
}

int Server::run()
{
    loop_.watchSignals({ SIGTERM, SIGINT, SIGHUP }, [this](int signo) {
        if (signo == SIGHUP)
            reload();
        else
            stop();
    });
    loop_.setTicker(kTickMs, [this] { onTick(); });
    ::sd_notify(0, "READY=1");
    updateStatus(true);
    if (int err = loop_.run(); err < 0) {
        log::error("event loop failed: {}", errnoText(-err));
        return kExitSoftware;
    }
    log::info("stopped after serving {} clients", served_);
    return kExitOk;
}

} // namespace pisock
