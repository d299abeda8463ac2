#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "chunk.h"
#include "common/intrusive_list.h"
#include "common/units.h"
#include "service.h"
#include "services.h"
#include "settings.h"

namespace pisock {

// What broadcast mode needs to know beyond ReplyConfig; owned by the server and changed in
// place on reload.
struct BroadcastConfig {
    SlowClient slowClient = SlowClient::Drop;
    MemoryBudget *memory = nullptr; // where the message blocks are counted (none: unlimited)
};

class BroadcastService;

// What the room says goes out beyond this daemon too (the MQTT bridge, daemon/bridge.h): the
// hub hands it every local message, with the sender's name ("192.0.2.7:5000", "unix #3").
class BroadcastRelay
{
public:
    virtual void relay(std::string_view sender, std::string_view message) noexcept = 0;

protected:
    ~BroadcastRelay() = default;
};

// How the other clients see a client's messages: "<name>: M". The peer as logged (address and
// port, IPv4 plain, IPv6 in brackets); a unix socket client as "unix #N", its connection number.
std::string broadcastName(const std::string &peer, std::uint64_t id);

// The conversation of broadcast mode: the clients taking part, in an intrusive list their
// services link themselves into. Owns nothing but the list; borrows the config. publish()
// builds one chunk per message and gives every other member a reference to it: the message
// is copied once, however many receive it.
class BroadcastHub
{
public:
    explicit BroadcastHub(const BroadcastConfig &config) noexcept;
    ~BroadcastHub();
    BroadcastHub(const BroadcastHub &) = delete;
    BroadcastHub &operator=(const BroadcastHub &) = delete;

    void join(BroadcastService &member) noexcept;
    // Leaving twice, or without joining, is harmless.
    void leave(BroadcastService &member) noexcept;
    // Sends "<peer of from>: message\n" to every member but from (a member or not), each line
    // of the message prefixed and escaped as writeBroadcastLines() says; returns
    // the members it was meant for (queued, dropped or disconnected).
    std::size_t publish(const BroadcastService &from, std::string_view message) noexcept;
    // A message from beyond this daemon (the bridge): to every member, each line after prefix
    // ("NODE/SENDER: "), escaped alike; returns the members it was meant for (0 also when
    // the budget had no room for it: remoteUndelivered() counts those, the caller logs them).
    std::size_t publishRemote(std::string_view prefix, std::string_view message) noexcept;
    // Remote messages the memory budget had no room for, since the start.
    [[nodiscard]] std::uint64_t remoteUndelivered() const noexcept { return remoteUndelivered_; }
    // Where local messages go besides the members (borrowed; nullptr: nowhere).
    void setRelay(BroadcastRelay *relay) noexcept { relay_ = relay; }

    // "name: NAME" from member: the error line it gets (room_names.h), empty if the name is
    // now its own. A name is unique in the room, whatever its case; the old one is freed.
    [[nodiscard]] std::string_view rename(BroadcastService &member, std::string_view name) noexcept;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const BroadcastConfig &config() const noexcept { return config_; }
    // Since the start: chunks built, and references to them queued for members.
    [[nodiscard]] std::uint64_t chunksBuilt() const noexcept { return chunksBuilt_; }
    [[nodiscard]] std::uint64_t deliveries() const noexcept { return deliveries_; }

private:
    std::size_t deliver(const BroadcastService *from, std::string_view prefix,
                        std::string_view message) noexcept;
    void releaseName(BroadcastService &member) noexcept;

    const BroadcastConfig &config_;
    BroadcastRelay *relay_ = nullptr;
    IntrusiveList<BroadcastService> members_;
    std::unordered_set<std::string> names_; // nameKey() of each name in use
    std::size_t size_ = 0;
    std::uint64_t chunksBuilt_ = 0;
    std::uint64_t remoteUndelivered_ = 0;
    std::uint64_t deliveries_ = 0;
};

// Broadcast mode: each message M of this client goes to every other client
// of the hub as "<peer>: M\n"; this client gets nothing back. A message "name: NAME" is no
// message: it makes NAME the client's prefix, or gets an error line back (room_names.h). quit and exit go to the others
// like any message, then end the session. The messages of the others are queued on this
// connection's outlet as shared chunks; past its output mark (--high-water, or its share of
// the memory budget when memory is short) they are dropped (counted, and the client is told
// "error: N messages dropped" once it has caught up) or the client is disconnected, per
// --slow-client. In raw framing the prefixes a message's lines get count against
// --max-message: past it, the sender gets the message-too-long error. Borrows the hub, the
// config and, while attached, the outlet.
class BroadcastService final : public MessageService, public ListHook
{
public:
    // Deliveries (one message to one member) per onInput() call, then Verdict::Yield: one
    // sender cannot hold the loop for long, however many members there are.
    static constexpr std::size_t kDeliveriesPerCall = 65536;

    BroadcastService(BroadcastHub &hub, const ReplyConfig &config, Framing framing,
                     const std::string &peer, std::uint64_t id);
    ~BroadcastService() override;

    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t dropped() const noexcept override { return dropped_; }
    [[nodiscard]] std::string_view roomName() const noexcept override
    {
        return std::string_view(prefix_).substr(0, prefix_.size() - 2); // without ": "
    }
    void attach(Outlet &outlet) noexcept override;
    void detach() noexcept override;
    void onLowWater(Buffer &out) noexcept override;

    // From the hub: queues chunk for this client, or applies --slow-client.
    void deliver(Chunk &chunk) noexcept;
    // "<peer>: " or "<name>: ", put before each of this client's lines.
    [[nodiscard]] const std::string &prefix() const noexcept { return prefix_; }
    using MessageService::id; // for the hub's log lines about it
    using MessageService::peer;

private:
    void onMessage(std::string_view message, Buffer &out) noexcept override;
    [[nodiscard]] bool yieldNow() const noexcept override { return spent_ >= kDeliveriesPerCall; }
    void drop() noexcept;

    friend class BroadcastHub; // sets nameKey_ and prefix_ on rename()

    BroadcastHub &hub_;
    Outlet *outlet_ = nullptr;
    std::string prefix_;
    std::string nameKey_; // of the name it chose; empty: none
    std::size_t spent_ = 0; // deliveries in this onInput() call
    std::uint64_t dropped_ = 0; // in all
    std::uint64_t episodeDropped_ = 0; // since it fell behind
    bool dropping_ = false; // fell behind, not caught up yet
};

} // namespace pisock
