#include "broadcast.h"

#include <cstdio>

#include "common/room_names.h"
#include "common/safe_text.h"
#include "log.h"

namespace pisock {

BroadcastHub::BroadcastHub(const BroadcastConfig &config) noexcept : config_(config)
{
}

BroadcastHub::~BroadcastHub()
{
    // The chunks are built here: their pool stops counting in the budget with the hub.
    if (config_.memory)
        Chunk::forgetBudget(*config_.memory);
    // Members outliving the hub are left unlinked (IntrusiveList): they do not reach back.
}

void BroadcastHub::join(BroadcastService &member) noexcept
{
    if (member.linked())
        return;
    members_.pushBack(member);
    ++size_;
}

void BroadcastHub::leave(BroadcastService &member) noexcept
{
    if (!member.linked())
        return;
    member.unlink();
    --size_;
    releaseName(member);
}

std::string_view BroadcastHub::rename(BroadcastService &member, std::string_view name) noexcept
{
    if (const std::string_view problem = nameProblem(name); !problem.empty())
        return problem;
    try {
        std::string key = nameKey(name);
        if (key == member.nameKey_) {
            member.prefix_ = std::string(name) + ": "; // its own name, its case changed
            return {};
        }
        if (!member.linked())
            return {}; // it has left the room: nobody will see the name
        if (names_.contains(key))
            return kNameTakenLine;
        std::string prefix = std::string(name) + ": ";
        names_.insert(key);
        releaseName(member);
        member.nameKey_ = std::move(key);
        member.prefix_ = std::move(prefix);
    } catch (const std::bad_alloc &) {
        return "error: out of memory\n";
    }
    const log::Peer who{ member.peer(), member.id() };
    log::at(log::Level::Info, &who, "named {}", name);
    return {};
}

void BroadcastHub::releaseName(BroadcastService &member) noexcept
{
    if (member.nameKey_.empty())
        return;
    names_.erase(member.nameKey_);
    member.nameKey_.clear();
}

std::size_t BroadcastHub::publish(const BroadcastService &from, std::string_view message) noexcept
{
    if (relay_) {
        const std::string_view prefix = from.prefix();
        relay_->relay(prefix.substr(0, prefix.size() - 2), message); // without ": "
    }
    if (size_ == 0 || (size_ == 1 && from.linked()))
        return 0; // nobody to tell: nothing to build
    return deliver(&from, from.prefix(), message);
}

std::size_t BroadcastHub::publishRemote(std::string_view prefix, std::string_view message) noexcept
{
    return size_ == 0 ? 0 : deliver(nullptr, prefix, message);
}

std::size_t BroadcastHub::deliver(const BroadcastService *from, std::string_view prefix,
                                  std::string_view message) noexcept
{
    // No client can make a line look like another's (common/safe_text.h): each line of the
    // message gets the sender's prefix, and what could start a line of its own inside one
    // (\r, other line breaks, terminal controls, invalid UTF-8) is escaped.
    ChunkRef chunk(Chunk::create(broadcastLinesSize(prefix, message), config_.memory));
    if (!chunk) {
        if (from) { // rate-limited per peer, as every line about one
            const log::Peer who{ from->peer(), from->id() };
            log::at(log::Level::Warning, &who,
                    "memory short (--memory-limit): a message not delivered");
        } else {
            ++remoteUndelivered_; // the bridge says so, once a second at most
        }
        return 0;
    }
    writeBroadcastLines(prefix, message, chunk->data());
    ++chunksBuilt_;

    std::size_t n = 0;
    // A disconnected member leaves the list, nothing else does.
    members_.forEach([&](BroadcastService &m) {
        if (&m != from) {
            m.deliver(*chunk);
            ++n;
        }
    });
    deliveries_ += n;
    return n; // our reference goes here: the chunk lives as long as a member holds it
}

std::string broadcastName(const std::string &peer, std::uint64_t id)
{
    // Unix socket clients are all "unix" (what they bind to is their own choice): the
    // connection number, as the log shows it, tells them apart.
    if (peer == "unix")
        return "unix #" + std::to_string(id);
    return peer;
}

BroadcastService::BroadcastService(BroadcastHub &hub, const ReplyConfig &config, Framing framing,
                                   const std::string &peer, std::uint64_t id)
    : MessageService(config, framing, peer, id), hub_(hub), prefix_(broadcastName(peer, id) + ": ")
{
}

BroadcastService::~BroadcastService()
{
    if (linked()) // a retired connection may go after the hub: do not touch it then
        hub_.leave(*this);
}

Verdict BroadcastService::onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    spent_ = 0;
    const Verdict verdict = MessageService::onInput(in, out, outLimit, eof);
    // After quit, or once the client has shut down its sending side, it has left the
    // conversation: it gets what is already queued for it, then the connection ends.
    if (verdict == Verdict::Finish || eof)
        hub_.leave(*this);
    return verdict;
}

void BroadcastService::onMessage(std::string_view message, Buffer &out) noexcept
{
    if (const auto name = nameCommand(message)) {
        out.append(hub_.rename(*this, *name));
        return;
    }
    // A raw message of many short lines would grow by a prefix per line: those bytes count.
    const std::size_t limit = prefix_.size() + config().maxMessage + 1;
    if (framing() == Framing::Raw && broadcastLinesSize(prefix_, message, limit) > limit) {
        writeTooLong(out);
        return;
    }
    spent_ += hub_.publish(*this, message);
}

void BroadcastService::attach(Outlet &outlet) noexcept
{
    outlet_ = &outlet;
    hub_.join(*this);
}

void BroadcastService::detach() noexcept
{
    hub_.leave(*this);
    outlet_ = nullptr;
}

void BroadcastService::deliver(Chunk &chunk) noexcept
{
    if (!outlet_)
        return;
    if (dropping_) {
        drop();
        return;
    }
    // Memory per client stays within its output mark.
    if (outlet_->makeRoomFor(chunk) && outlet_->share(chunk))
        return;
    if (!outlet_)
        return; // the flush that made room closed the connection: detached
    if (hub_.config().slowClient == SlowClient::Disconnect) {
        outlet_->abort("too slow, --slow-client disconnect"); // detaches: outlet_ is gone
        return;
    }
    // Once per episode: from now until it catches up, every message for it is dropped.
    dropping_ = true;
    episodeDropped_ = 0;
    const log::Peer who{ peer(), id() };
    const MemoryBudget *memory = hub_.config().memory;
    log::at(log::Level::Warning, &who,
            "too slow: {} bytes wait for it ({}), dropping messages until it catches up",
            outlet_->outputCost(),
            memory && memory->pressure() ? "its share of --memory-limit" : "--high-water");
    outlet_->watchLowWater();
    drop();
}

void BroadcastService::drop() noexcept
{
    ++dropped_;
    ++episodeDropped_;
}

void BroadcastService::onLowWater(Buffer &out) noexcept
{
    if (!dropping_)
        return;
    dropping_ = false;
    char line[64];
    const int n = std::snprintf(line, sizeof(line), "error: %llu messages dropped\n",
                                static_cast<unsigned long long>(episodeDropped_));
    out.append({ line, static_cast<std::size_t>(n) });
    const log::Peer who{ peer(), id() };
    log::at(log::Level::Debug, &who, "caught up after {} messages dropped", episodeDropped_);
}

} // namespace pisock
