#include "daemon/connection.h"

#include <functional>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "common/units.h"
#include "daemon/services.h"
#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;

namespace {

// Owns the connection under test the way the server does: retires it when it closes.
struct Fixture : ConnectionOwner {
    EventLoop loop;
    ConnectionLimits limits;
    FramingHint hint;
    ReplyConfig config;
    UniqueFd peer; // the test's end of the socketpair
    Connection *conn = nullptr;
    std::unique_ptr<Connection> owned;
    bool closed = false;
    bool lingering = false;
    int memoryWaits = 0;
    std::string reason;
    std::string path; // the states it went through, as "Open PeerClosed Closed"

    explicit Fixture(Framing framing = Framing::Line, bool echo = false,
                     MemoryBudget *memory = nullptr)
    {
        limits.memory = memory;
        config.framingHint = &hint;
        test::SocketPair pair;
        peer = std::move(pair.peer);
        SocketAddress addr;
        addr.storage.ss_family = AF_UNIX;
        addr.length = sizeof(sa_family_t);
        std::unique_ptr<Service> service;
        if (echo)
            service = std::make_unique<EchoService>();
        else
            service = std::make_unique<LineService>(config, framing, "test", 1);
        owned = std::make_unique<Connection>(loop, std::move(pair.subject), addr, 1,
                                             std::move(service), limits, *this);
        conn = owned.get();
        REQUIRE(conn->start() == 0);
    }

    void onClosed(Connection &c) noexcept override
    {
        closed = true;
        reason = c.closeReason();
        loop.retire(std::move(owned));
    }
    void onLinger(Connection &) noexcept override { lingering = true; }
    void onMemoryWait(Connection &) noexcept override { ++memoryWaits; }
    void onTransition(Connection &c, ConnState from) noexcept override
    {
        if (path.empty())
            path = stateName(from);
        path += std::string(" ") + stateName(c.state());
    }

    void write(const std::string &s) const
    {
        REQUIRE(::send(peer.get(), s.data(), s.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(s.size()));
    }

    // Runs the loop until pred holds (at most ~2 s of turns).
    bool runUntil(const std::function<bool()> &pred)
    {
        for (int i = 0; i < 200; ++i) {
            if (pred())
                return true;
            loop.runOnce(10);
        }
        return pred();
    }

    // Reads what the connection has sent so far; eof set if it sent FIN.
    std::string read(bool *eof = nullptr) const
    {
        std::string got;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(peer.get(), buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                got.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (eof)
                *eof = n == 0;
            return got;
        }
    }
};

} // namespace

TEST_CASE("a line is answered and the connection stays open", "[connection]")
{
    Fixture f;
    f.write("hello\n");
    std::string got;
    CHECK(f.runUntil([&] { return (got += f.read()).size() >= 18; }));
    CHECK(got == "server rec: hello\n");
    CHECK(f.conn->state() == ConnState::Open);
    CHECK(f.conn->messages() == 1);
    CHECK(f.conn->bytesIn() == 6);
    CHECK(f.conn->bytesOut() == 18);
}

TEST_CASE("raw framing: a reply ends as its message did, with or without a line ending",
          "[connection]")
{
    Fixture f(Framing::Raw);
    std::string got;
    const auto exchange = [&](const std::string &message, const std::string &reply) {
        got.clear();
        f.write(message);
        REQUIRE(f.runUntil([&] { return (got += f.read()).size() >= reply.size(); }));
        CHECK(got == reply);
    };
    exchange("hello", "server rec: hello");
    exchange("你好，树莓派\n", "server rec: 你好，树莓派\n");
    exchange("crlf\r\n", "server rec: crlf\r\n");
    exchange("two\nlines", "server rec: two\nlines");
    exchange("\n", "server rec: \n");
    exchange("quit\n", "server rec: quit\n"); // still quit: the line ending is not the message's
    bool eof = false;
    CHECK(f.runUntil([&] {
        f.read(&eof);
        return eof;
    }));
}

TEST_CASE("line framing: a first line still unterminated is a framing hint candidate, once",
          "[connection]")
{
    Fixture f;
    f.write("hello");
    REQUIRE(f.runUntil([&] { return f.conn->pendingInput() == 5; }));
    CHECK(f.hint.size() == 1);
    f.write(" there");
    REQUIRE(f.runUntil([&] { return f.conn->pendingInput() == 11; }));
    CHECK(f.hint.size() == 1); // once per connection
    f.hint.tick(1000);
    CHECK(f.hint.due(1000 + FramingHint::kDueMs) == 1u);
}

TEST_CASE("line framing: a connection whose first line has ended is never a hint candidate",
          "[connection]")
{
    Fixture f;
    f.write("complete\npartial");
    std::string got;
    REQUIRE(f.runUntil([&] { return (got += f.read()).size() >= 21; }));
    CHECK(got == "server rec: complete\n");
    CHECK(f.conn->pendingInput() == 7);
    CHECK(f.hint.size() == 0);
}

TEST_CASE("raw framing never makes a hint candidate", "[connection]")
{
    Fixture f(Framing::Raw);
    f.write("hello");
    std::string got;
    REQUIRE(f.runUntil([&] { return (got += f.read()).size() >= 17; }));
    CHECK(f.hint.size() == 0);
}

TEST_CASE("quit is answered, then FIN, then Closed once the peer closes", "[connection]")
{
    Fixture f;
    f.write("quit\nignored\n");
    std::string got;
    bool eof = false;
    CHECK(f.runUntil([&] {
        got += f.read(&eof);
        return eof;
    }));
    CHECK(got == "server rec: quit\n");
    CHECK(f.conn->state() == ConnState::Lingering);
    CHECK(f.lingering);
    f.peer.reset();
    CHECK(f.runUntil([&] { return f.closed; }));
    CHECK(f.reason == "quit");
    CHECK(f.path == "Open Flushing Lingering Closed");
}

TEST_CASE("every state has a name of its own", "[connection]")
{
    const std::string names[] = { stateName(ConnState::Open), stateName(ConnState::PeerClosed),
                                  stateName(ConnState::Flushing), stateName(ConnState::Lingering),
                                  stateName(ConnState::Closed) };
    for (std::size_t i = 0; i < std::size(names); ++i) {
        CHECK(names[i] != "?");
        for (std::size_t j = 0; j < i; ++j)
            CHECK(names[i] != names[j]);
    }
}

TEST_CASE("a lingering connection is closed at its linger deadline", "[connection]")
{
    Fixture f;
    f.limits.lingerMs = 0;
    f.write("exit\n");
    CHECK(f.runUntil([&] { return f.lingering; }));
    CHECK_FALSE(f.closed);
    f.loop.updateTime();
    f.conn->checkLinger(f.loop.now());
    CHECK(f.closed);
}

TEST_CASE("after the peer half-closes every reply is sent, then the connection closes",
          "[connection]")
{
    Fixture f;
    std::string lines;
    std::string want;
    for (int i = 0; i < 100; ++i) {
        lines += std::to_string(i) + "\n";
        want += "server rec: " + std::to_string(i) + "\n";
    }
    f.write(lines + "last");
    ::shutdown(f.peer.get(), SHUT_WR);
    want += "server rec: last\n";
    std::string got;
    bool eof = false;
    CHECK(f.runUntil([&] {
        got += f.read(&eof);
        return eof;
    }));
    CHECK(got == want);
    CHECK(f.closed);
    CHECK(f.reason == "closed by peer");
}

TEST_CASE("a peer that does not read pauses input at the high-water mark", "[connection]")
{
    Fixture f;
    f.limits.highWater = 64 * 1024;
    f.limits.lowWater = 16 * 1024;
    int bufSize = 4096;
    ::setsockopt(f.peer.get(), SOL_SOCKET, SO_RCVBUF, &bufSize, sizeof(bufSize));
    const std::string line(100, 'x');
    std::string all;
    for (int i = 0; i < 20000; ++i)
        all += line + "\n";
    // Push until the kernel refuses: the connection must stop reading at some point.
    std::size_t sent = 0;
    for (int turn = 0; turn < 500 && sent < all.size(); ++turn) {
        const ssize_t n = ::send(f.peer.get(), all.data() + sent, all.size() - sent,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            sent += static_cast<std::size_t>(n);
        f.loop.runOnce(0);
    }
    CHECK(f.conn->readPaused());
    CHECK(sent < all.size());
    // The mark counts real bytes: the output block itself stays within it.
    CHECK(f.conn->outputCost() <= f.limits.highWater + 4096);

    // Once the peer reads, everything arrives, in order.
    std::string got;
    const std::size_t wantSize = 20000 * (line.size() + 13);
    CHECK(f.runUntil([&] {
        got += f.read();
        if (sent < all.size()) {
            const ssize_t n = ::send(f.peer.get(), all.data() + sent, all.size() - sent,
                                     MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<std::size_t>(n);
        }
        return got.size() >= wantSize;
    }));
    CHECK(got.size() == wantSize);
    CHECK(got.substr(0, 113) == "server rec: " + line + "\n");
    CHECK_FALSE(f.conn->readPaused());
}

TEST_CASE("the server's stop sends what is owed, then FIN", "[connection]")
{
    Fixture f;
    f.write("a\nb\n");
    f.conn->stop();
    std::string got;
    bool eof = false;
    CHECK(f.runUntil([&] {
        got += f.read(&eof);
        return eof;
    }));
    CHECK(got == "server rec: a\nserver rec: b\n");
    CHECK(f.conn->state() == ConnState::Lingering);
    f.peer.reset();
    CHECK(f.runUntil([&] { return f.closed; }));
    CHECK(f.reason == "server stopping");
}

TEST_CASE("a reset peer closes the connection", "[connection]")
{
    Fixture f;
    f.peer.reset();
    CHECK(f.runUntil([&] { return f.closed; }));
}

TEST_CASE("events after close are ignored", "[connection]")
{
    Fixture f;
    f.conn->abort("test");
    CHECK(f.closed);
    CHECK(f.reason == "test");
    f.conn->onIo(EPOLLIN | EPOLLOUT); // still alive until the batch ends; must do nothing
    f.loop.runOnce(0);
}

TEST_CASE("echo returns bytes unchanged", "[connection]")
{
    Fixture f(Framing::Line, true);
    const std::string bin("\0\1\2quit\n\xff", 9);
    f.write(bin);
    std::string got;
    CHECK(f.runUntil([&] { return (got += f.read()).size() >= bin.size(); }));
    CHECK(got == bin);
    CHECK(f.conn->state() == ConnState::Open);
}

TEST_CASE("the server's stop answers every message queued before it, beyond one read's budget",
          "[connection]")
{
    Fixture f;
    // 1500 lines of 100 bytes: more than the 64 KiB one wakeup reads, all in the kernel.
    const std::string line(99, 'q');
    std::string batch;
    for (int i = 0; i < 1500; ++i)
        batch += line + "\n";
    f.write(batch);
    f.write("partial line with no end");
    f.conn->stop();
    f.write("sent after the stop\n");
    std::string got;
    bool eof = false;
    CHECK(f.runUntil([&] {
        got += f.read(&eof);
        return eof;
    }));
    CHECK(got.size() == 1500 * (12 + 100));
    CHECK(got.find("sent after the stop") == std::string::npos);
    CHECK(got.find("partial") == std::string::npos);
    CHECK(f.conn->messages() == 1500);
}

TEST_CASE("a connection stays on its idle list while open and leaves it when closed",
          "[connection]")
{
    Fixture f;
    IdleList idle;
    f.conn->watchIdle(idle);
    CHECK(f.conn->linked());
    f.write("hello\n");
    std::string got;
    CHECK(f.runUntil([&] { return (got += f.read()).size() >= 18; }));
    CHECK(f.conn->linked());
    f.conn->abort("idle timeout");
    CHECK(f.closed);
    CHECK(idle.empty());
}

TEST_CASE("a read the memory budget refuses waits, and goes on when memory is back",
          "[connection][memory]")
{
    Buffer::trimPool(true);
    MemoryBudget budget(1024 * 1024);
    budget.setHolders(1);
    budget.acquired(1023 * 1024); // others hold almost all of it
    Fixture g(Framing::Line, false, &budget);
    g.write("hello\n");
    CHECK(g.runUntil([&] { return g.memoryWaits == 1; }));
    CHECK(g.conn->waitingForMemory());
    CHECK(g.read().empty());
    CHECK_FALSE(g.closed);

    budget.released(1023 * 1024);
    g.conn->memoryAvailable();
    std::string got;
    CHECK(g.runUntil([&] {
        got += g.read();
        return got == "server rec: hello\n";
    }));
    CHECK_FALSE(g.conn->waitingForMemory());
    g.peer.reset();
    CHECK(g.runUntil([&] { return g.closed; }));
    Buffer::trimPool(true);
}

TEST_CASE("connections past the turn budget take turns: each turn reads at most the budget, "
          "and every one is read in the end without a new event",
          "[connection][fairness]")
{
    // Eight peers each write 64 KiB once, then nothing: no further edge comes, so a connection
    // the budget cut short is read only if the loop's rotation brings it back.
    constexpr std::size_t kConns = 8;
    constexpr std::size_t kEach = 64 * kKiB;
    constexpr std::size_t kPerTurn = 16 * kKiB;
    struct Owner : ConnectionOwner {
        void onClosed(Connection &) noexcept override { ++closed; }
        void onLinger(Connection &) noexcept override {}
        void onMemoryWait(Connection &) noexcept override {}
        int closed = 0;
    } owner;
    EventLoop loop;
    TurnBudget turn(kPerTurn);
    ConnectionLimits limits;
    limits.turn = &turn;
    std::vector<UniqueFd> peers;
    std::vector<std::unique_ptr<Connection>> conns;
    for (std::size_t i = 0; i < kConns; ++i) {
        test::SocketPair pair;
        SocketAddress addr;
        addr.storage.ss_family = AF_UNIX;
        addr.length = sizeof(sa_family_t);
        conns.push_back(std::make_unique<Connection>(loop, std::move(pair.subject), addr, i + 1,
                                                     std::make_unique<EchoService>(), limits,
                                                     owner));
        REQUIRE(conns.back()->start() == 0);
        const std::string data(kEach, static_cast<char>('a' + i));
        REQUIRE(::send(pair.peer.get(), data.data(), data.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(data.size()));
        peers.push_back(std::move(pair.peer));
    }
    auto bytesIn = [&] {
        std::size_t total = 0;
        for (const auto &c : conns)
            total += c->bytesIn();
        return total;
    };
    std::vector<std::size_t> echoed(kConns, 0);
    auto drain = [&] {
        char buf[65536];
        for (std::size_t i = 0; i < kConns; ++i)
            for (ssize_t n; (n = ::recv(peers[i].get(), buf, sizeof(buf), MSG_DONTWAIT)) > 0;)
                echoed[i] += static_cast<std::size_t>(n);
    };

    loop.runOnce(0); // the first wakeups are light: each reads at least TurnBudget::kFloor
    CHECK(bytesIn() <= kPerTurn + kConns * TurnBudget::kFloor);
    int turns = 1;
    while (bytesIn() < kConns * kEach && turns < 1000) {
        const std::size_t before = bytesIn();
        loop.runOnce(0);
        ++turns;
        drain();
        CHECK(bytesIn() - before <= kPerTurn); // cut short before: heavy, no floor
    }
    drain();
    CHECK(bytesIn() == kConns * kEach);
    CHECK(turns >= static_cast<int>(kConns * kEach / kPerTurn) - 3);
    for (std::size_t i = 0; i < kConns; ++i) {
        INFO("connection " << i);
        CHECK(echoed[i] == kEach);
    }
    CHECK(owner.closed == 0);
}
