#include "server.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <malloc.h>
#include <optional>
#include <signal.h>
#include <sys/socket.h>
#include <system_error>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "common/clock.h"
#include "common/errors.h"
#include "exit_code.h"
#include "log.h"
#include "peer_cred.h"
#include "socket_options.h"
#include "version.h"
#include "ws_page.h"

namespace pisock {

namespace {

// Descriptors needed besides one per client: listeners, epoll, signals, timer, the spare for
// EMFILE, the journal (64 for all those), and the clients being refused.
constexpr std::size_t kSpareFds = 64 + RefusalQueue::kMaxOpen;

constexpr unsigned kTickMs = 250;
// How often the pools give back what they did not use, and the heap is trimmed if it shrank
// by kTrimStep since: memory left by a burst goes back within two periods.
constexpr std::uint64_t kTrimPeriodMs = 1000;
constexpr std::size_t kTrimStep = kMiB;

std::string formatDuration(std::uint64_t ms)
{
    if (ms < 10000)
        return fmt::format("{}.{:03}s", ms / 1000, ms % 1000);
    return fmt::format("{}s", ms / 1000);
}

void notifySystemd(const std::string &message)
{
    ::sd_notify(0, message.c_str());
}

std::uint64_t watchdogUsec()
{
    std::uint64_t usec = 0;
    return ::sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

// Names of the sockets systemd passed (FileDescriptorName=, LISTEN_FDNAMES); "" when unnamed.
// Frees the array sd_listen_fds_with_names() allocated.
std::vector<std::string> takeSocketNames(int count, char **names)
{
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        const char *name = names ? names[i] : nullptr;
        // sd_listen_fds_with_names() says "unknown" when LISTEN_FDNAMES was not set.
        try {
            out.emplace_back(name && std::string_view(name) != "unknown" ? name : "");
        } catch (...) {
        }
        if (names)
            std::free(names[i]);
    }
    std::free(names);
    return out;
}

std::string plural(std::uint64_t n, std::string_view word)
{
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

bool sameEndpoints(const std::vector<ListenAddress> &a, const std::vector<ListenAddress> &b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const ListenAddress &x, const ListenAddress &y) {
                          return socketKey(x.endpoint) == socketKey(y.endpoint) &&
                                 x.proxy == y.proxy;
                      });
}

} // namespace

Server::Server(EventLoop &loop, CommandLine cmd, Settings settings)
    : loop_(loop), cmd_(std::move(cmd)), settings_(std::move(settings)), hub_(broadcast_),
      wsFramer_(ws_), listeners_(loop, *this, spareFd_), notifier_(notifySystemd, watchdogUsec()),
      refusals_(loop, limits_.lingerMs),
      control_(loop, [this](std::string_view command) { return answerControl(command); }),
      startedMs_(loop.now()), startedUnix_(static_cast<std::int64_t>(std::time(nullptr)))
{
    reply_.framingHint = &framingHint_;
    ws_.maxMessage = &reply_.maxMessage;
    ws_.memory = &memory_;
    ws_.hub = settings_.mode == Mode::Broadcast ? &hub_ : nullptr;
    ws_.busy = wsErrorResponse(503);
    ws_.forbidden = wsErrorResponse(403);
    applySettings();
}

Server::~Server() = default;

void Server::applySettings() noexcept
{
    log::setLevel(settings_.logLevel);
    log::setRateLimit(settings_.logRate);
    reply_.prefix = settings_.replyPrefix;
    reply_.maxMessage = settings_.maxMessage;
    limits_.highWater = settings_.highWater;
    limits_.lowWater = settings_.lowWater;
    limits_.memory = &memory_;
    limits_.turn = &turn_;
    memory_.setLimit(settings_.memoryLimit);
    try {
        idleLine_ = fmt::format("error: idle timeout ({} s)\n", settings_.idleTimeoutSec);
    } catch (const std::bad_alloc &) {
        idleLine_.clear(); // idle clients are closed without it
    }
    broadcast_.memory = &memory_;
    broadcast_.slowClient = settings_.slowClient;
    try {
        ws_.page = settings_.wsPage ? wsPage(settings_.mode) : std::string();
        ws_.origins = settings_.wsOrigins;
    } catch (const std::bad_alloc &) {
        log::warning("out of memory building the ws listeners' page");
    }
    try {
        // Room for every handler to be deferred or waiting at once: nothing on the I/O paths
        // allocates for that later, when the heap may be short.
        const std::size_t handlers = std::max(settings_.maxConnections, connections_.size()) +
                                     RefusalQueue::kMaxOpen + 64;
        loop_.reserve(handlers);
        memoryWaiters_.reserve(handlers);
    } catch (const std::bad_alloc &) {
        log::warning("out of memory reserving room for {} clients", settings_.maxConnections);
    }
    // A whole message plus one read must fit; the service consumes the rest as it arrives.
    limits_.maxInput = settings_.maxMessage + limits_.ioBudget + 2;
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

void Server::followLan()
{
    if (lan_)
        return;
    auto lan = std::make_unique<LanPrefixes>();
    lan->open(loop_);
    std::string list;
    for (const Cidr &network : lan->networks()) {
        if (!list.empty())
            list += ", ";
        list += network.toString();
    }
    log::info("allow = lan: serving this machine's subnets, now {}", list);
    lan_ = std::move(lan);
}

void Server::open()
{
    // The first line of every start: what this daemon speaks.
    log::info("pisockd {} starting: {} mode{}", kVersion, modeName(settings_.mode),
              settings_.mode == Mode::Echo
                      ? std::string(" (every byte back, no framing)")
                      : fmt::format(", {} framing",
                                    settings_.framing == Framing::Raw ? "raw" : "line"));
    checkFdLimit();
    openControl();
    if (!settings_.bridge.empty())
        bridge_ = startBridge(loop_, hub_, settings_); // connects in the background
    if (settings_.allowLan)
        followLan();
    // Socket activation: systemd's sockets replace --listen (sd_listen_fds(3)).
    char **names = nullptr;
    const int passed = ::sd_listen_fds_with_names(1, &names);
    if (passed < 0)
        throw std::system_error(-passed, std::system_category(), "sd_listen_fds");
    const std::vector<std::string> named = takeSocketNames(passed, names);
    if (named.size() != static_cast<std::size_t>(passed))
        throw std::bad_alloc();
    if (passed == 0) {
        listeners_.setReusePort(settings_.reusePort);
        listeners_.open(settings_.listen);
        return;
    }
    listeners_.adopt(SD_LISTEN_FDS_START, named);
    if (!settings_.listen.empty())
        log::notice("listen addresses of the configuration ignored: systemd passed the sockets");
}

std::unique_ptr<Service> Server::makeService(const std::string &peer, std::uint64_t id,
                                             bool webSocket, bool healthCheck)
{
    // A frame is its own framing: behind the WebSocket layer the service gets one whole
    // message per call (raw).
    const Framing framing = webSocket ? Framing::Raw : settings_.framing;
    std::unique_ptr<Service> service;
    if (settings_.mode == Mode::Echo)
        service = std::make_unique<EchoService>();
    else if (settings_.mode == Mode::Broadcast && !healthCheck)
        service = std::make_unique<BroadcastService>(hub_, reply_, framing, peer, id);
    else
        service = std::make_unique<LineService>(reply_, framing, peer, id);
    if (!webSocket)
        return service;
    return std::make_unique<WsStage>(std::move(service), ws_, wsFramer_,
                                     settings_.mode != Mode::Echo, peer, id);
}

// The one place where a listener's kind picks the stages between the socket and the mode's
// service, outermost first: the PROXY stage (which, on a ",proxy" listener, asks
// onProxyHeader() for the rest once the header is read), then for a ws listener the WebSocket
// layer (makeService()), then the mode's service (docs/ARCHITECTURE.md).
std::unique_ptr<Service> Server::makeStages(const Listener &from, const std::string &peer,
                                            std::uint64_t id)
{
    if (from.proxy())
        return std::make_unique<ProxyStage>(*this, id);
    return std::make_unique<ProxyStage>(*this, id, makeService(peer, id, from.webSocket()));
}

void Server::refuse(UniqueFd fd, const std::string &peer, const char *why,
                    std::string_view line) noexcept
{
    ++busyRefused_;
    refusals_.refuse(std::move(fd), line);
    // Rate-limited: a flood of refused clients must not flood the log.
    if (busyLog_.allow(loop_.now()))
        log::warning("refused {} ({}); {} refused so far", peer, why, busyRefused_);
}

void Server::deny(UniqueFd fd, const std::string &peer, std::string_view line) noexcept
{
    ++denied_;
    // One line, no detail: the rules are nothing a refused peer needs to learn.
    refusals_.refuse(std::move(fd), line);
    if (denyLog_.allow(loop_.now()))
        log::warning("denied {} (--allow/--deny); {} denied so far", peer, denied_);
}

void Server::onAccept(UniqueFd fd, const SocketAddress &peer, Listener &from) noexcept
{
    try {
        const std::string name = formatPeer(peer);
        // A unix client is "unix": who it is, the kernel says (SO_PEERCRED). Read once, here,
        // for whatever needs it.
        const std::optional<PeerCred> cred = peer.family() == AF_UNIX ? peerCred(fd.get())
                                                                      : std::nullopt;
        // Through a proxy, the client is known once its header is read: the ACL and the
        // per-host cap wait for it (server_proxy.cpp); the proxy must be trusted now.
        const bool proxied = from.proxy();
        if (proxied && !trustedProxy(peer)) {
            distrust(std::move(fd), name, from);
            return;
        }
        if (!proxied && !peerAllowed(peer, settings_.allow, settings_.deny,
                                     settings_.allowLan ? lan_.get() : nullptr)) {
            deny(std::move(fd), name, refusalFor(from.webSocket(), kNotAllowedLine));
            return;
        }
        const PeerHost host = proxied ? PeerHost{} : PeerHost::of(peer, cred);
        if (const char *why = admit(host)) {
            refuse(std::move(fd), name, why, refusalFor(from.webSocket(), kBusyLine));
            return;
        }
        if (peer.family() != AF_UNIX)
            tuneAcceptedSocket(fd.get(), settings_.keepaliveSec);
        const std::uint64_t id = nextId_++;
        auto conn = std::make_unique<Connection>(loop_, std::move(fd), peer, id,
                                                 makeStages(from, name, id), limits_, *this);
        Connection &ref = *conn;
        if (proxied) {
            awaitHeader(id, name, from);
        } else {
            hostOf_.emplace(id, host);
            ++perHost_[host];
        }
        ref.watchIdle(idle_);
        connections_.emplace(id, std::move(conn));
        memory_.setHolders(connections_.size());
        if (!proxied)
            ++served_; // through a proxy: once the header names a client (not a health check)
        const log::Peer who{ ref.peer(), id, cred ? &*cred : nullptr };
        log::at(proxied ? log::Level::Debug : log::Level::Info, &who, "connected on {}{}{}{}",
                from.webSocket() ? "ws:" : "", from.address(),
                cred ? fmt::format(" (uid {}, pid {})", cred->uid, cred->pid) : std::string(),
                proxied ? ", waiting for its PROXY header" : "");
        if (const int err = ref.start(); err < 0) {
            log::warning("epoll_ctl for {}: {}, closing", ref.peer(), errnoText(-err));
            ref.abort("epoll_ctl failed");
        }
    } catch (const std::bad_alloc &) {
        // fd is closed on the way out (an RST at worst); what was counted is undone.
        undoAccept(nextId_ - 1);
    }
}

void Server::undoAccept(std::uint64_t id) noexcept
{
    if (!connections_.contains(id)) {
        if (const auto it = hostOf_.find(id); it != hostOf_.end()) {
            forgetHost(it->second);
            hostOf_.erase(it);
        }
        awaiting_.erase(id);
        quiet_.erase(id);
    }
    ++oomClosed_;
    if (oomLog_.allow(loop_.now()))
        log::error("out of memory accepting a client, refused it; {} clients closed or refused "
                   "for lack of memory so far",
                   oomClosed_);
}

void Server::onAcceptError(Listener &from, int err) noexcept
{
    if (err != EMFILE) {
        log::warning("accept on {}: {}", from.address(), errnoText(err));
        return;
    }
    if (fdLog_.allow(loop_.now()))
        log::warning("out of file descriptors, refusing clients on {}", from.address());
}

const char *Server::admit(const PeerHost &host) const noexcept
{
    if (connections_.size() >= settings_.maxConnections)
        return "server busy";
    // Near the budget the clients already here come first.
    if (memory_.pressure())
        return "memory short, --memory-limit";
    // Unknown: a proxy's connection, counted once its header names the client.
    if (settings_.maxPerHost > 0 && host.kind != PeerHost::Kind::Unknown) {
        const auto it = perHost_.find(host);
        if (it != perHost_.end() && it->second >= settings_.maxPerHost)
            return "--max-per-host";
    }
    return nullptr;
}

void Server::forgetHost(const PeerHost &host) noexcept
{
    const auto it = perHost_.find(host);
    if (it != perHost_.end() && --it->second == 0)
        perHost_.erase(it);
}

void Server::onClosed(Connection &connection) noexcept
{
    const log::Peer who{ connection.peer(), connection.id() };
    const std::uint64_t dropped = connection.dropped();
    // Health checks and connections refused for their PROXY header: logged when they came.
    const bool quiet = quiet_.erase(connection.id()) > 0;
    awaiting_.erase(connection.id());
    try { // the arguments are strings: out of memory, the line is lost, not the daemon
        log::at(quiet ? log::Level::Debug : log::Level::Info, &who,
                "disconnected ({}) after {}, {} bytes in, {} bytes out, {} messages{}",
                connection.closeReason(), formatDuration(loop_.now() - connection.startedMs()),
                connection.bytesIn(), connection.bytesOut(), connection.messages(),
                dropped > 0 ? fmt::format(", {} dropped", dropped) : std::string());
    } catch (const std::bad_alloc &) {
    }
    messages_ += connection.messages();
    droppedClosed_ += dropped;
    bytesInClosed_ += connection.bytesIn();
    bytesOutClosed_ += connection.bytesOut();
    if (connection.outOfMemory()) {
        ++oomClosed_;
        if (oomLog_.allow(loop_.now()))
            log::error("out of memory: closed {}; {} clients closed or refused for lack of "
                       "memory so far",
                       connection.peer(), oomClosed_);
    }
    if (const auto host = hostOf_.find(connection.id()); host != hostOf_.end()) {
        forgetHost(host->second);
        hostOf_.erase(host);
    }
    auto it = connections_.find(connection.id());
    if (it != connections_.end()) {
        loop_.retire(std::move(it->second)); // events of this batch may still name it
        connections_.erase(it);
    }
    memory_.setHolders(connections_.size());
    if (stopping_ && connections_.empty())
        loop_.stop();
}

void Server::onTransition(Connection &connection, ConnState from) noexcept
{
    if (log::enabled(log::Level::Debug)) {
        const log::Peer who{ connection.peer(), connection.id() };
        log::at(log::Level::Debug, &who, "{} -> {}", stateName(from),
                stateName(connection.state()));
    }
}

void Server::onLinger(Connection &connection) noexcept
{
    lingering_.emplace_back(connection.lingerDeadline(), connection.id());
}

void Server::onMemoryWait(Connection &connection) noexcept
{
    try {
        memoryWaiters_.push_back(connection.id());
    } catch (const std::bad_alloc &) {
        connection.abort("out of memory"); // past the room applySettings() made
    }
}

// Every tick: connections refused memory try again (most of them wait for the clients that
// hold the most to drain). Every second: the pools give back the blocks they did not use, and
// the heap is trimmed when it shrank, so that a burst's memory leaves the RSS within seconds.
void Server::tendMemory(std::uint64_t now) noexcept
{
    // memoryAvailable() only defers: those refused again come back after this.
    for (const std::uint64_t id : memoryWaiters_)
        if (auto it = connections_.find(id); it != connections_.end())
            it->second->memoryAvailable();
    memoryWaiters_.clear();

    if (memory_.pressure() != pressureLogged_) {
        pressureLogged_ = memory_.pressure();
        if (pressureLogged_)
            log::warning("memory short: {} KiB of --memory-limit {} KiB in use; refusing new "
                         "clients, and the clients holding the most wait",
                         memory_.used() / kKiB, memory_.limit() / kKiB);
        else
            log::notice("memory back to {} KiB of --memory-limit {} KiB", memory_.used() / kKiB,
                        memory_.limit() / kKiB);
    }
    usedSinceTrim_ = std::max(usedSinceTrim_, memory_.used());
    if (now - lastTrimMs_ < kTrimPeriodMs && !memory_.pressure())
        return;
    lastTrimMs_ = now;
    Buffer::trimPool(memory_.pressure());
    Chunk::trimPool(memory_.pressure());
    // Shrunk by a step, or by half (the last of a burst): the heap's free pages go back.
    const std::size_t used = memory_.used();
    if (usedSinceTrim_ > used && usedSinceTrim_ - used >= std::min(kTrimStep, usedSinceTrim_ / 2)) {
        ::malloc_trim(0);
        usedSinceTrim_ = used;
    }
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
    control_.expire(now);
    expireHeaders(now);
    closeIdle(now);
    tendMemory(now);
    hintRawFraming(now);
    if (bridge_)
        bridge_->tick();
    // Out of descriptors earlier: take the spare back before accepting again.
    spareFd_.take();
    listeners_.retry();
    if (stopping_ && now >= stopDeadline_)
        closeAll("shutdown timeout");
    updateStatus();
    writeMetrics(now, false);
    notifier_.tick(now);
    log::flushSuppressed();
}

void Server::closeIdle(std::uint64_t now) noexcept
{
    if (settings_.idleTimeoutSec == 0)
        return;
    // Only the least recently active are looked at: the cost does not grow with the number of
    // connections.
    while (auto *node = idle_.popExpired(now, settings_.idleTimeoutSec * 1000ull)) {
        auto *conn = static_cast<Connection *>(node);
        // One already told (and flushing its last line) is only closed: counted once.
        if (conn->state() == ConnState::Open || conn->state() == ConnState::PeerClosed)
            ++timedOut_;
        conn->expire("idle timeout", reasonLine(idleLine_));
    }
}

// A client that sent its first bytes and no newline about a second ago, and still waits: in
// line framing its message never ends. The tutorial's Python client does that; it needs
// --framing raw, and the log says so (rate-limited by FramingHint).
void Server::hintRawFraming(std::uint64_t now) noexcept
{
    framingHint_.tick(now);
    while (const auto id = framingHint_.due(now)) {
        const auto it = connections_.find(*id);
        if (it == connections_.end())
            continue;
        const Connection &conn = *it->second;
        if (conn.state() != ConnState::Open || conn.messages() > 0 || conn.pendingInput() == 0 ||
            !framingHint_.mayLog(now))
            continue;
        const log::Peer who{ conn.peer(), conn.id() };
        log::at(log::Level::Info, &who,
                "{} without a newline for a second: with --framing line a message ends at a "
                "newline; for a client that sends none (the tutorial's Python client), run "
                "pisockd with --framing raw",
                plural(conn.pendingInput(), "byte"));
    }
}

void Server::closeAll(const char *reason) noexcept
{
    std::vector<Connection *> left;
    for (auto &[id, conn] : connections_)
        left.push_back(conn.get());
    if (!left.empty())
        log::warning("{}: closing {} still busy", reason, plural(left.size(), "client"));
    for (Connection *conn : left)
        conn->abort(reason); // closes and retires it: the list above stays valid this batch
    loop_.stop();
}

void Server::updateStatus() noexcept
{
    try {
        std::string status;
        if (stopping_) {
            status = fmt::format("stopping: {} to finish", plural(connections_.size(), "client"));
        } else {
            std::uint64_t messages = messages_;
            for (auto &[id, conn] : connections_)
                messages += conn->messages();
            // Health checks and connections still without their PROXY header are no clients.
            status = fmt::format("{} now, {} served, {}",
                                 plural(connections_.size() - quiet_.size(), "client"), served_,
                                 plural(messages, "message"));
        }
        if (bridge_)
            status += "; " + bridge_->status();
        notifier_.status(std::move(status), loop_.now());
    } catch (const std::bad_alloc &) {
        // The status can wait for the next tick.
    }
}

void Server::stop() noexcept
{
    if (stopping_) {
        // Asked twice (Ctrl-C again): do not make the admin wait.
        log::notice("second stop signal");
        closeAll("stopped at once");
        return;
    }
    stopping_ = true;
    notifier_.stopping();
    if (bridge_)
        bridge_->stop();
    log::info("stopping: {} to finish", plural(connections_.size(), "client"));
    listeners_.closeAll();
    stopDeadline_ = loop_.now() + settings_.shutdownTimeoutSec * 1000ull;
    std::vector<Connection *> open;
    for (auto &[id, conn] : connections_)
        open.push_back(conn.get());
    // stop() may close and retire it: the list above stays valid this batch.
    for (Connection *conn : open)
        conn->stop(reasonLine(kStoppingLine));
    updateStatus();
    if (connections_.empty())
        loop_.stop();
}

void Server::reload() noexcept
{
    if (stopping_)
        return;
    notifier_.reloading(monotonicUsec());
    try {
        // A file that was there at start and is gone now is an error, not the defaults (which
        // would drop --allow): configuration fails closed.
        Settings next = loadSettings(cmd_, settings_.fromFile);
        std::string notes;
        if (next.mode != settings_.mode || next.framing != settings_.framing) {
            notes += "; mode and framing apply after a restart";
            next.mode = settings_.mode;
            next.framing = settings_.framing;
        }
        if (next.controlSocket != settings_.controlSocket ||
            next.reusePort != settings_.reusePort) {
            notes += "; control-socket and reuse-port apply after a restart";
            next.controlSocket = settings_.controlSocket;
            next.reusePort = settings_.reusePort;
        }
        if (next.bridge != settings_.bridge || next.nodeName != settings_.nodeName ||
            next.bridgePasswordFile != settings_.bridgePasswordFile ||
            next.bridgeCaFile != settings_.bridgeCaFile) {
            notes += "; bridge settings apply after a restart";
            next.bridge = settings_.bridge;
            next.nodeName = settings_.nodeName;
            next.bridgePasswordFile = settings_.bridgePasswordFile;
            next.bridgeCaFile = settings_.bridgeCaFile;
        }
        if (next.allowLan)
            followLan(); // before anything changed: a failure keeps the old settings
        if (listeners_.activated()) {
            if (!sameEndpoints(next.listen, settings_.listen))
                log::notice("listen addresses not changed: systemd passed the sockets, change "
                            "them in the socket unit");
        } else {
            listeners_.update(next.listen); // all or nothing; throws before anything changed
        }
        settings_ = std::move(next);
        applySettings();
        checkFdLimit();
        log::info("configuration reloaded{}", notes);
    } catch (const std::exception &e) {
        log::error("reload rejected, old settings kept: {}", e.what());
    }
    notifier_.ready(loop_.now());
    updateStatus();
}

int Server::run()
{
    loop_.watchSignals({ SIGTERM, SIGINT, SIGHUP }, [this](int signo) {
        if (signo == SIGHUP)
            reload();
        else
            stop();
    });
    loop_.setTicker(notifier_.maxTickMs(kTickMs), [this] { onTick(); });
    // Every listener is in the loop (open() registered them): clients may come.
    notifier_.ready(loop_.now());
    updateStatus();
    if (int err = loop_.run(); err < 0) {
        log::error("event loop failed: {}", errnoText(-err));
        return kExitSoftware;
    }
    writeMetrics(loop_.now(), true); // the last figures, for the scrape after the stop
    log::info("stopped after serving {}", plural(served_, "client"));
    return kExitOk;
}

} // namespace pisock
