#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bridge.h"
#include "broadcast.h"
#include "common/memory_budget.h"
#include "common/unique_fd.h"
#include "connection.h"
#include "control.h"
#include "event_loop.h"
#include "framing_hint.h"
#include "idle_list.h"
#include "lan_prefixes.h"
#include "listen_set.h"
#include "listener.h"
#include "log_limit.h"
#include "notify.h"
#include "options.h"
#include "peer_host.h"
#include "proxy_stage.h"
#include "refusal.h"
#include "services.h"
#include "settings.h"
#include "stats.h"
#include "turn_budget.h"
#include "ws_stage.h"

namespace pisock {

// The daemon: owns the listeners, the connections, the settings they share, the memory budget
// and the per-turn read budget; borrows the loop. Accepts (within --max-connections,
// --max-per-host and the memory budget), creates a Service per connection, logs each client's
// life, talks to systemd, gives memory back after a burst, and runs the shutdown and reload
// sequences. On a ",proxy" listener it takes only trusted proxies, and decides on the client
// the header names once it is read (server_proxy.cpp).
class Server final : public AcceptSink, public ConnectionOwner, public ProxyStageOwner
{
public:
    Server(EventLoop &loop, CommandLine cmd, Settings settings);
    ~Server();
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // Takes the sockets systemd passed (LISTEN_FDS) or opens settings.listen; throws
    // std::system_error naming the address that failed.
    void open();
    // Serves until SIGTERM/SIGINT and the graceful stop that follows; returns the exit status.
    int run();
    // Graceful stop: no new clients, replies owed are sent, then exit. A second call closes
    // every client at once.
    void stop() noexcept;
    // Re-reads the configuration and applies it, listen addresses included, without touching
    // a connection; keeps the old settings if the new ones are invalid or cannot be applied.
    void reload() noexcept;

    void onAccept(UniqueFd fd, const SocketAddress &peer, Listener &from) noexcept override;
    void onAcceptError(Listener &from, int err) noexcept override;
    [[nodiscard]] std::string_view busyLine(const Listener &from) const noexcept override
    {
        return refusalFor(from.webSocket(), kBusyLine);
    }
    void onClosed(Connection &connection) noexcept override;
    void onLinger(Connection &connection) noexcept override;
    void onMemoryWait(Connection &connection) noexcept override;
    void onTransition(Connection &connection, ConnState from) noexcept override;
    std::unique_ptr<Service> onProxyHeader(std::uint64_t id, const ProxyHeader &header,
                                           std::string_view &refusal) noexcept override;
    void onProxyRefused(std::uint64_t id, std::string_view why) noexcept override;

    [[nodiscard]] std::size_t connectionCount() const noexcept { return connections_.size(); }
    [[nodiscard]] const MemoryBudget &memory() const noexcept { return memory_; }
    // The live stats (server_stats.cpp): what the control socket and the metrics file show.
    [[nodiscard]] StatsSnapshot snapshot() const;

private:
    // A connection from a proxy waiting for its header: the proxy's address and the listener.
    struct AwaitingHeader {
        std::string proxy;
        std::string listener;
        bool webSocket = false; // a ws listener: the client's stream is WebSocket
    };
    // The line a client closed for a reason it did not ask for gets (refusal.h): line, or
    // nothing in echo mode, whose bytes are the client's.
    [[nodiscard]] std::string_view reasonLine(std::string_view line) const noexcept
    {
        return settings_.mode == Mode::Echo ? std::string_view() : line;
    }
    void applySettings() noexcept;
    // `allow = lan`: starts following this machine's subnets, once; throws std::system_error.
    void followLan();
    // line: what the client is told (refusalFor()).
    void refuse(UniqueFd fd, const std::string &peer, const char *why,
                std::string_view line) noexcept;
    // What a client refused for reason line (kBusyLine, kNotAllowedLine) is told: on a ws
    // listener the HTTP error a browser shows (503, 403), elsewhere reasonLine(line).
    [[nodiscard]] std::string_view refusalFor(bool webSocket, std::string_view line) const noexcept
    {
        if (!webSocket)
            return reasonLine(line);
        return line == kNotAllowedLine ? ws_.forbidden : ws_.busy;
    }
    // Whether a new client from host may be served now; otherwise why not.
    [[nodiscard]] const char *admit(const PeerHost &host) const noexcept;
    void forgetHost(const PeerHost &host) noexcept;
    void tendMemory(std::uint64_t now) noexcept;
    // onAccept() ran out of memory for connection id: undoes what was counted for it, logs.
    void undoAccept(std::uint64_t id) noexcept;
    // line: what the client is told (refusalFor()).
    void deny(UniqueFd fd, const std::string &peer, std::string_view line) noexcept;
    void closeIdle(std::uint64_t now) noexcept;
    void checkFdLimit() noexcept;
    void onTick() noexcept;
    void hintRawFraming(std::uint64_t now) noexcept;
    // Closes every connection now and ends the loop (shutdown deadline, second signal).
    void closeAll(const char *reason) noexcept;
    void updateStatus() noexcept;
    // The mode's service, behind the WebSocket layer for a ws listener's client (webSocket); a
    // health check (a proxy's own connection) never joins a broadcast, and is answered as in
    // reply mode there.
    std::unique_ptr<Service> makeService(const std::string &peer, std::uint64_t id, bool webSocket,
                                         bool healthCheck = false);
    // The stages of a connection from listener from: the PROXY stage, then makeService().
    std::unique_ptr<Service> makeStages(const Listener &from, const std::string &peer,
                                        std::uint64_t id);
    // Whether peer may connect to a proxy listener (--trusted-proxy; a unix socket's
    // permissions decide for it).
    [[nodiscard]] bool trustedProxy(const SocketAddress &peer) const noexcept;
    // Closes fd from an untrusted peer on proxy listener from, and logs it.
    void distrust(UniqueFd fd, const std::string &peer, const Listener &from) noexcept;
    // A proxy's connection was accepted: it waits for its header until a deadline.
    void awaitHeader(std::uint64_t id, const std::string &proxy, const Listener &from);
    // Closes the connections whose header did not come in time.
    void expireHeaders(std::uint64_t now) noexcept;
    // The client the header names may be served (--allow/--deny, --max-per-host); if not,
    // logs why and sets refusal.
    bool admitProxied(std::uint64_t id, const SocketAddress &client, const AwaitingHeader &from,
                      std::string_view &refusal) noexcept;
    // The control socket and the metrics file (server_stats.cpp).
    void openControl() noexcept;
    [[nodiscard]] std::string answerControl(std::string_view command) const;
    void writeMetrics(std::uint64_t now, bool force) noexcept;

    EventLoop &loop_;
    CommandLine cmd_;
    Settings settings_;
    MemoryBudget memory_; // buffers, queues and chunks of every connection; outlives them
    TurnBudget turn_; // bytes read per loop turn, by all connections together
    FramingHint framingHint_; // clients whose first line never ends (line framing)
    ReplyConfig reply_; // shared by every LineService
    ConnectionLimits limits_; // shared by every Connection
    BroadcastConfig broadcast_; // shared by the hub
    BroadcastHub hub_; // broadcast mode: the clients taking part; outlives connections_
    std::unique_ptr<Bridge> bridge_; // bridge = mqtt://...: the room beyond this daemon
    WsConfig ws_; // shared by the WebSocket layers of ws listeners' clients
    WsChunkFramer wsFramer_; // holds chunks: after hub_ and memory_, so it goes first
    SpareFd spareFd_; // for EMFILE; before listeners_, which borrow it
    ListenSet listeners_;
    Notifier notifier_;
    IdleList idle_; // every connection, least recently active first
    RefusalQueue refusals_; // busy clients waiting for their FIN
    std::unique_ptr<LanPrefixes> lan_; // once some configuration said `allow = lan`
    std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
    std::unordered_map<std::uint64_t, PeerHost> hostOf_; // connection id -> who, for --max-per-host
    std::unordered_map<PeerHost, std::size_t, PeerHostHash> perHost_; // connections per host
    std::unordered_map<std::uint64_t, AwaitingHeader> awaiting_;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> headerDeadlines_; // (deadline, id)
    // Connections whose connect and disconnect are logged at debug level only: those waiting
    // for their header or refused for it, and health checks.
    std::unordered_set<std::uint64_t> quiet_;
    std::vector<std::uint64_t> memoryWaiters_; // ids of connections waiting for memory
    std::deque<std::pair<std::uint64_t, std::uint64_t>> lingering_; // (deadline, id), in order
    ControlSocket control_; // `pisockd --stats` asks here
    std::string idleLine_; // "error: idle timeout (N s)\n", for the current --idle-timeout
    std::uint64_t nextId_ = 1;
    std::uint64_t startedMs_ = 0; // monotonic
    std::int64_t startedUnix_ = 0; // wall clock, for the stats
    std::uint64_t lastMetricsMs_ = 0;
    std::uint64_t served_ = 0;
    std::uint64_t messages_ = 0; // of closed connections
    std::uint64_t droppedClosed_ = 0; // broadcast messages lost, of closed connections
    std::uint64_t bytesInClosed_ = 0;
    std::uint64_t bytesOutClosed_ = 0;
    std::uint64_t timedOut_ = 0; // closed by the idle timeout
    std::uint64_t busyRefused_ = 0;
    std::uint64_t denied_ = 0;
    std::uint64_t proxyRefused_ = 0; // untrusted proxies, bad, missing or unexpected headers
    std::uint64_t stopDeadline_ = 0;
    std::uint64_t lastTrimMs_ = 0;
    std::size_t usedSinceTrim_ = 0; // the most the budget counted since the heap was trimmed
    std::uint64_t oomClosed_ = 0;
    log::Throttle busyLog_, denyLog_, oomLog_, fdLog_, proxyLog_; // once a second each
    bool metricsFailed_ = false; // the last write of the metrics file failed (logged once)
    bool pressureLogged_ = false;
    bool stopping_ = false;
};

} // namespace pisock
