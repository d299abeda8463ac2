#include "daemon/broadcast.h"

#include <functional>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "common/unique_fd.h"
#include "daemon/connection.h"
#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;

namespace {

// One client of the room: the test's end of a socketpair, and the daemon's connection.
struct Member {
    UniqueFd peer;
    Connection *conn = nullptr;
    std::unique_ptr<Connection> owned;
    bool closed = false;
    std::string reason;
    std::string got;
    bool eof = false;
};

// Connections of broadcast mode over socketpairs, owned the way the server owns them.
struct Room : ConnectionOwner {
    EventLoop loop;
    ConnectionLimits limits;
    ReplyConfig config;
    BroadcastConfig broadcast;
    BroadcastHub hub{ broadcast };
    std::vector<std::unique_ptr<Member>> members;

    // sndbuf: the daemon side's send buffer (0: the default), to make a slow reader quickly.
    Member &add(const std::string &name, Framing framing = Framing::Line, int sndbuf = 0)
    {
        test::SocketPair pair;
        if (sndbuf > 0)
            ::setsockopt(pair.subject.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        auto m = std::make_unique<Member>();
        m->peer = std::move(pair.peer);
        SocketAddress addr;
        addr.storage.ss_family = AF_UNIX;
        addr.length = sizeof(sa_family_t);
        const auto id = members.size() + 1;
        auto service = std::make_unique<BroadcastService>(hub, config, framing, name, id);
        m->owned = std::make_unique<Connection>(loop, std::move(pair.subject), addr, id,
                                                std::move(service), limits, *this);
        m->conn = m->owned.get();
        REQUIRE(m->conn->start() == 0);
        members.push_back(std::move(m));
        return *members.back();
    }

    void onClosed(Connection &c) noexcept override
    {
        for (auto &m : members) {
            if (m->conn == &c) {
                m->closed = true;
                m->reason = c.closeReason();
                loop.retire(std::move(m->owned));
            }
        }
    }
    void onLinger(Connection &) noexcept override {}
    void onMemoryWait(Connection &) noexcept override {}

    static void write(Member &m, const std::string &s)
    {
        REQUIRE(::send(m.peer.get(), s.data(), s.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(s.size()));
    }

    // Reads what m has been sent so far into m.got.
    static void read(Member &m)
    {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(m.peer.get(), buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                m.got.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            m.eof = m.eof || n == 0;
            return;
        }
    }

    // Runs the loop, reading for every member but the ones in skip, until pred holds.
    bool runUntil(const std::function<bool()> &pred, std::vector<const Member *> skip = {})
    {
        for (int i = 0; i < 2000; ++i) {
            for (auto &m : members)
                if (std::find(skip.begin(), skip.end(), m.get()) == skip.end())
                    read(*m);
            if (pred())
                return true;
            loop.runOnce(1);
        }
        return pred();
    }

    // Runs the loop for a while without reading for anyone.
    void spin(int turns)
    {
        for (int i = 0; i < turns; ++i)
            loop.runOnce(0);
    }
};

std::size_t count(const std::string &text, const std::string &what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

} // namespace

TEST_CASE("a message goes to every other member as '<peer>: M', never back to its sender",
          "[broadcast]")
{
    Room r;
    Member &a = r.add("192.0.2.1:5000");
    Member &b = r.add("[2001:db8::1]:5000");
    Member &c = r.add("192.0.2.3:7");
    CHECK(r.hub.size() == 3);
    r.write(a, "hello\n");
    r.write(b, "hi a\r\n");
    CHECK(r.runUntil([&] { return c.got.size() >= 47; }));
    r.spin(3);
    r.read(a);
    r.read(b);
    CHECK(a.got == "[2001:db8::1]:5000: hi a\n");
    CHECK(b.got == "192.0.2.1:5000: hello\n");
    CHECK(c.got == "192.0.2.1:5000: hello\n[2001:db8::1]:5000: hi a\n");
    CHECK(a.conn->messages() == 1);
    CHECK(c.conn->messages() == 0);
}

TEST_CASE("clients are named as the log names them; unix ones by their connection number",
          "[broadcast]")
{
    CHECK(broadcastName("192.0.2.1:5000", 7) == "192.0.2.1:5000");
    CHECK(broadcastName("[2001:db8::1]:5000", 7) == "[2001:db8::1]:5000");
    CHECK(broadcastName("unix", 7) == "unix #7");
    Room r;
    Member &a = r.add("unix");
    Member &b = r.add("unix");
    r.write(a, "hi\n");
    CHECK(r.runUntil([&] { return b.got == "unix #1: hi\n"; }));
}

TEST_CASE("a message is built once and freed once every member has sent it", "[broadcast]")
{
    const std::size_t live = Chunk::live();
    Room r;
    Member &a = r.add("a");
    Member &b = r.add("b");
    Member &c = r.add("c");
    r.write(a, "one\ntwo\n");
    CHECK(r.runUntil([&] { return b.got.size() == 14 && c.got.size() == 14; }));
    CHECK(b.got == "a: one\na: two\n");
    CHECK(r.hub.chunksBuilt() == 2);
    CHECK(r.hub.deliveries() == 4);
    CHECK(Chunk::live() == live); // sent everywhere: nothing holds them
    CHECK(a.got.empty());
}

TEST_CASE("alone in the room, a message is built for nobody", "[broadcast]")
{
    Room r;
    Member &a = r.add("a");
    r.write(a, "anyone?\n");
    r.spin(3);
    CHECK(a.conn->messages() == 1);
    CHECK(r.hub.chunksBuilt() == 0);
}

TEST_CASE("a member that does not read loses messages past high water and is told how many",
          "[broadcast]")
{
    Room r;
    r.limits.highWater = 8192;
    r.limits.lowWater = 2048;
    Member &sender = r.add("s");
    Member &reader = r.add("r");
    Member &slow = r.add("slow", Framing::Line, 4096);
    const int kMessages = 2000;
    std::string batch;
    for (int i = 0; i < kMessages; ++i)
        batch += "message " + std::to_string(i) + " " + std::string(40, '.') + "\n";
    std::size_t sent = 0;
    // The reader reads, the slow one does not: the sender's input is never paused.
    CHECK(r.runUntil(
            [&] {
                if (sent < batch.size()) {
                    const ssize_t n = ::send(sender.peer.get(), batch.data() + sent,
                                             batch.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
                }
                return count(reader.got, "\n") == kMessages;
            },
            { &slow }));
    CHECK(sender.conn->messages() == kMessages);
    const std::uint64_t dropped = slow.conn->dropped();
    CHECK(dropped > 0);
    CHECK(dropped < kMessages);
    // Bounded by high water in real bytes (blocks, ring), whatever the sender does.
    CHECK(slow.conn->outputCost() <= r.limits.highWater);
    CHECK(slow.conn->state() == ConnState::Open);

    // It reads again: what was queued, then the count, once; then new messages as usual.
    CHECK(r.runUntil([&] { return slow.got.find("dropped\n") != std::string::npos; }));
    r.write(sender, "after\n");
    CHECK(r.runUntil([&] { return slow.got.find("s: after\n") != std::string::npos; }));
    const std::string notice = "error: " + std::to_string(dropped) + " messages dropped\n";
    CHECK(count(slow.got, "error: ") == 1);
    const auto at = slow.got.find(notice);
    REQUIRE(at != std::string::npos);
    CHECK(count(slow.got.substr(0, at), "\n") + dropped == kMessages);
    CHECK(slow.got.substr(at + notice.size()) == "s: after\n");
    // The messages it did get are the first ones, in order.
    CHECK(slow.got.starts_with("s: message 0 "));
    CHECK(reader.got.find("s: message 1999 ") != std::string::npos);
}

TEST_CASE("with --slow-client disconnect a member past high water is closed", "[broadcast]")
{
    Room r;
    r.broadcast.slowClient = SlowClient::Disconnect;
    r.limits.highWater = 8192;
    r.limits.lowWater = 2048;
    Member &sender = r.add("s");
    Member &slow1 = r.add("slow1", Framing::Line, 4096);
    Member &slow2 = r.add("slow2", Framing::Line, 4096); // next to slow1 in the list
    Member &reader = r.add("r");
    std::string batch;
    for (int i = 0; i < 2000; ++i)
        batch += "message " + std::to_string(i) + " " + std::string(40, '.') + "\n";
    std::size_t sent = 0;
    CHECK(r.runUntil(
            [&] {
                if (sent < batch.size()) {
                    const ssize_t n = ::send(sender.peer.get(), batch.data() + sent,
                                             batch.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
                }
                return count(reader.got, "\n") == 2000;
            },
            { &slow1, &slow2 }));
    CHECK(slow1.closed);
    CHECK(slow2.closed);
    CHECK(slow1.reason == "too slow, --slow-client disconnect");
    CHECK(r.hub.size() == 2);
    CHECK_FALSE(sender.closed);
}

TEST_CASE("quit goes to the others, then its sender leaves and gets FIN", "[broadcast]")
{
    Room r;
    Member &a = r.add("a");
    Member &b = r.add("b");
    r.write(a, "hi\nquit\nnot sent\n");
    CHECK(r.runUntil([&] { return a.eof; }));
    CHECK(a.got.empty());
    CHECK(r.hub.size() == 1);
    r.write(b, "still there?\n");
    r.spin(3);
    r.read(a);
    r.read(b);
    CHECK(a.got.empty());
    CHECK(b.got == "a: hi\na: quit\n");
    a.peer.reset();
    CHECK(r.runUntil([&] { return a.closed; }));
    CHECK(a.reason == "quit");
}

TEST_CASE("a member that half-closes leaves; its last messages still reach the others",
          "[broadcast]")
{
    Room r;
    Member &a = r.add("a");
    Member &b = r.add("b");
    r.write(b, "before\n");
    CHECK(r.runUntil([&] { return a.got == "b: before\n"; }));
    r.write(a, "x\nlast without newline");
    ::shutdown(a.peer.get(), SHUT_WR);
    CHECK(r.runUntil([&] { return a.closed && b.got.size() >= 29; }));
    CHECK(a.got == "b: before\n");
    CHECK(a.eof);
    CHECK(a.reason == "closed by peer");
    CHECK(b.got == "a: x\na: last without newline\n");
    CHECK(r.hub.size() == 1);
}

TEST_CASE("a sender with more deliveries than one call allows yields and loses nothing",
          "[broadcast]")
{
    Room r;
    Member &a = r.add("a");
    Member &b = r.add("b");
    Member &c = r.add("c");
    // 40,000 empty messages in one read, to two members: 80,000 deliveries, more than
    // kDeliveriesPerCall.
    const std::size_t kMessages = 40000;
    static_assert(2 * kMessages > BroadcastService::kDeliveriesPerCall);
    r.write(a, std::string(kMessages, '\n'));
    CHECK(r.runUntil(
            [&] { return b.got.size() == 4 * kMessages && c.got.size() == 4 * kMessages; }));
    CHECK(count(b.got, "a: \n") == kMessages);
    CHECK(a.conn->messages() == kMessages);
}

TEST_CASE("raw framing: each line of a message carries its sender's prefix", "[broadcast]")
{
    Room r;
    Member &a = r.add("a", Framing::Raw);
    Member &b = r.add("b", Framing::Raw);
    r.write(a, "one\nb: forged\n");
    CHECK(r.runUntil([&] { return b.got.size() >= 16; }));
    CHECK(b.got == "a: one\na: b: forged\n");
}

TEST_CASE("a message over max-message is refused to its sender and sent to nobody", "[broadcast]")
{
    Room r;
    r.config.maxMessage = 16;
    Member &a = r.add("a");
    Member &b = r.add("b");
    r.write(a, std::string(40, 'x') + "\nshort\n");
    CHECK(r.runUntil([&] { return a.got.size() >= 41 && b.got.size() >= 9; }));
    CHECK(a.got == "error: message too long (limit 16 bytes)\n");
    CHECK(b.got == "a: short\n");
    CHECK(a.conn->state() == ConnState::Open);
}

TEST_CASE("closing a member takes it out of the room", "[broadcast]")
{
    Room r;
    Member &a = r.add("a");
    Member &b = r.add("b");
    b.conn->abort("test");
    CHECK(r.hub.size() == 1);
    r.write(a, "hello?\n");
    r.spin(3);
    CHECK(r.hub.chunksBuilt() == 0);
    r.spin(1); // the retired connection goes
}

namespace {

// What the bridge is to the hub, recorded.
struct RecordingRelay final : BroadcastRelay {
    std::vector<std::pair<std::string, std::string>> got;
    void relay(std::string_view sender, std::string_view message) noexcept override
    {
        got.emplace_back(sender, message);
    }
};

} // namespace

TEST_CASE("the relay gets every local message with its sender; remote messages reach every "
          "member under their prefix, escaped",
          "[broadcast]")
{
    Room r;
    RecordingRelay relay;
    r.hub.setRelay(&relay);
    Member &a = r.add("192.0.2.1:5000");
    r.write(a, "alone here\n");
    CHECK(r.runUntil([&] { return relay.got.size() == 1; }));
    CHECK(relay.got[0] == std::pair<std::string, std::string>("192.0.2.1:5000", "alone here"));

    Member &b = r.add("unix");
    CHECK(r.hub.publishRemote("kitchen/192.0.2.9:7: ", "hi\x1b[2J\nsecond line") == 2);
    const std::string want = "kitchen/192.0.2.9:7: hi\\x1b[2J\nkitchen/192.0.2.9:7: second line\n";
    CHECK(r.runUntil([&] { return a.got == want && b.got == want; }));
    r.write(b, "from unix\n");
    CHECK(r.runUntil([&] { return relay.got.size() == 2; }));
    CHECK(relay.got[1].first == "unix #2");
    r.hub.setRelay(nullptr);
}

TEST_CASE("a remote message the memory budget has no room for is counted, not delivered",
          "[broadcast]")
{
    Room r;
    MemoryBudget budget(64);
    r.broadcast.memory = &budget;
    Member &a = r.add("192.0.2.1:5000");
    CHECK(r.hub.publishRemote("kitchen: ", std::string(1000, 'x')) == 0);
    CHECK(r.hub.remoteUndelivered() == 1);
    CHECK(r.hub.publishRemote("kitchen: ", std::string(1000, 'y')) == 0);
    CHECK(r.hub.remoteUndelivered() == 2);
    r.broadcast.memory = nullptr;
    CHECK(r.hub.publishRemote("kitchen: ", "fits") == 1);
    CHECK(r.runUntil([&] { return a.got == "kitchen: fits\n"; }));
    CHECK(r.hub.remoteUndelivered() == 2);
}
