#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "broadcast.h"
#include "common/memory_budget.h"
#include "common/unique_fd.h"
#include "connection.h"
#include "event_loop.h"
#include "framing_hint.h"
#include "idle_list.h"
#include "listen_set.h"
#include "listener.h"
#include "log_limit.h"
#include "notify.h"
#include "options.h"
#include "peer_host.h"
#include "refusal.h"
#include "services.h"
#include "settings.h"
#include "turn_budget.h"
#include "ws_stage.h"

namespace pisock {

// The daemon: owns the listeners, the connections, the settings they share, the memory budget
// and the per-turn read budget; borrows the loop. Accepts (within --max-connections,
// --max-per-host and the memory budget), creates a Service per connection, logs each client's
// life, talks to systemd, gives memory back after a burst, and runs the shutdown and reload
// sequences.
class Server final : public AcceptSink, public ConnectionOwner
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
    void onClosed(Connection &connection) noexcept override;
    void onLinger(Connection &connection) noexcept override;
    void onMemoryWait(Connection &connection) noexcept override;
    void onTransition(Connection &connection, ConnState from) noexcept override;

    [[nodiscard]] std::size_t connectionCount() const noexcept { return connections_.size(); }
    [[nodiscard]] const MemoryBudget &memory() const noexcept { return memory_; }

private:
    void applySettings() noexcept;
    // line: what the client is told ("error: server busy", or an HTTP 503 on a ws listener).
    void refuse(UniqueFd fd, const std::string &peer, const char *why,
                std::string_view line) noexcept;
    // Whether a new client from host may be served now; otherwise why not.
    [[nodiscard]] const char *admit(const PeerHost &host) const noexcept;
    void forgetHost(const PeerHost &host) noexcept;
    void tendMemory(std::uint64_t now) noexcept;
    void deny(UniqueFd fd, const std::string &peer) noexcept;
    void closeIdle(std::uint64_t now) noexcept;
    void checkFdLimit() noexcept;
    void onTick() noexcept;
    void hintRawFraming(std::uint64_t now) noexcept;
    // Closes every connection now and ends the loop (shutdown deadline, second signal).
    void closeAll(const char *reason) noexcept;
    void updateStatus() noexcept;
    std::unique_ptr<Service> makeService(const std::string &peer, std::uint64_t id,
                                         Framing framing);
    // The listener's kind picks the stages in front of the mode's service.
    std::unique_ptr<Service> makeStages(const Listener &from, const std::string &peer,
                                        std::uint64_t id);

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
    WsConfig ws_; // shared by the WebSocket layers of ws listeners' clients
    WsChunkFramer wsFramer_; // holds chunks: after hub_ and memory_, so it goes first
    SpareFd spareFd_; // for EMFILE; before listeners_, which borrow it
    ListenSet listeners_;
    Notifier notifier_;
    IdleList idle_; // every connection, least recently active first
    RefusalQueue refusals_; // busy clients waiting for their FIN
    std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
    std::unordered_map<std::uint64_t, PeerHost> hostOf_; // connection id -> who, for --max-per-host
    std::unordered_map<PeerHost, std::size_t, PeerHostHash> perHost_; // connections per host
    std::vector<std::uint64_t> memoryWaiters_; // ids of connections waiting for memory
    std::deque<std::pair<std::uint64_t, std::uint64_t>> lingering_; // (deadline, id), in order
    std::uint64_t nextId_ = 1;
    std::uint64_t served_ = 0;
    std::uint64_t messages_ = 0; // of closed connections
    std::uint64_t busyRefused_ = 0;
    std::uint64_t denied_ = 0;
    std::uint64_t stopDeadline_ = 0;
    std::uint64_t lastTrimMs_ = 0;
    std::size_t usedSinceTrim_ = 0; // the most the budget counted since the heap was trimmed
    std::uint64_t oomClosed_ = 0;
    log::Throttle busyLog_, denyLog_, oomLog_, fdLog_; // once a second each
    bool pressureLogged_ = false;
    bool stopping_ = false;
};

} // namespace pisock
