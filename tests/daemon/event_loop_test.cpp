#include "daemon/event_loop.h"

#include <memory>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;

namespace {

struct Recorder : IoHandler {
    std::vector<std::uint32_t> calls;
    int resumes = 0;
    bool *destroyed = nullptr;
    ~Recorder() override
    {
        if (destroyed)
            *destroyed = true;
    }
    void onIo(std::uint32_t events) noexcept override { calls.push_back(events); }
    void onResume() noexcept override { ++resumes; }
};

} // namespace

TEST_CASE("a registered fd reports writable, then readable once data arrives", "[loop]")
{
    EventLoop loop;
    test::SocketPair p;
    Recorder r;
    REQUIRE(loop.add(p.subject.get(), r) == 0);
    CHECK(loop.runOnce(1000) == 1);
    REQUIRE(r.calls.size() == 1);
    CHECK((r.calls[0] & EPOLLOUT) != 0);
    CHECK((r.calls[0] & EPOLLIN) == 0);

    REQUIRE(::write(p.peer.get(), "x", 1) == 1);
    CHECK(loop.runOnce(1000) == 1);
    REQUIRE(r.calls.size() == 2);
    CHECK((r.calls[1] & EPOLLIN) != 0);
}

TEST_CASE("edge-triggered: unread data raises no second event", "[loop]")
{
    EventLoop loop;
    test::SocketPair p;
    Recorder r;
    REQUIRE(loop.add(p.subject.get(), r) == 0);
    REQUIRE(::write(p.peer.get(), "x", 1) == 1);
    CHECK(loop.runOnce(1000) == 1);
    CHECK(loop.runOnce(0) == 0);
    CHECK(r.calls.size() == 1);
}

TEST_CASE("a peer that closes is reported as readable with RDHUP", "[loop]")
{
    EventLoop loop;
    test::SocketPair p;
    Recorder r;
    REQUIRE(loop.add(p.subject.get(), r) == 0);
    loop.runOnce(1000);
    p.peer.reset();
    CHECK(loop.runOnce(1000) == 1);
    REQUIRE(r.calls.size() == 2);
    CHECK((r.calls[1] & EPOLLIN) != 0);
    CHECK((r.calls[1] & EPOLLRDHUP) != 0);
}

TEST_CASE("a deferred handler is resumed once after the batch, without blocking", "[loop]")
{
    EventLoop loop;
    Recorder r;
    loop.defer(r);
    loop.defer(r); // idempotent: still one call
    // Would block forever without the deferred handler: the loop polls with timeout 0.
    CHECK(loop.runOnce(-1) == 0);
    CHECK(r.resumes == 1);
    CHECK(r.calls.empty());
    CHECK(loop.runOnce(0) == 0);
    CHECK(r.resumes == 1);
    loop.defer(r); // and may be deferred again once resumed
    CHECK(loop.runOnce(0) == 0);
    CHECK(r.resumes == 2);
}

TEST_CASE("deferred handlers resume in order: defer()'s, then the heavy that waited, then "
          "the heavy served; each once",
          "[loop]")
{
    EventLoop loop;
    std::vector<int> order;
    struct Named : IoHandler {
        std::vector<int> &order;
        int name;
        Named(std::vector<int> &o, int n) : order(o), name(n) {}
        void onIo(std::uint32_t) noexcept override {}
        void onResume() noexcept override { order.push_back(name); }
    } served(order, 1), waited(order, 2), light(order, 3), again(order, 4);
    loop.deferHeavy(served, EventLoop::Turn::Served);
    loop.deferHeavy(waited, EventLoop::Turn::Waited);
    loop.defer(light);
    loop.deferHeavy(again, EventLoop::Turn::Served);
    loop.defer(again); // already deferred: stays where it is
    loop.deferHeavy(waited, EventLoop::Turn::Served);
    CHECK(loop.runOnce(-1) == 0);
    CHECK(order == std::vector<int>{ 3, 2, 1, 4 });
}

TEST_CASE("a handler deferred while resumed runs in the next batch, not this one", "[loop]")
{
    EventLoop loop;
    struct Again : IoHandler {
        EventLoop &loop;
        int resumes = 0;
        explicit Again(EventLoop &l) : loop(l) {}
        void onIo(std::uint32_t) noexcept override {}
        void onResume() noexcept override
        {
            ++resumes;
            loop.deferHeavy(*this, EventLoop::Turn::Waited); // waiting still: next batch
        }
    } again(loop);
    loop.deferHeavy(again, EventLoop::Turn::Waited);
    loop.runOnce(-1);
    CHECK(again.resumes == 1);
    loop.runOnce(-1); // does not block: it is deferred
    CHECK(again.resumes == 2);
}

TEST_CASE("a retired handler lives until the end of the batch and is not resumed", "[loop]")
{
    EventLoop loop;
    bool destroyed = false;
    auto r = std::make_unique<Recorder>();
    r->destroyed = &destroyed;
    Recorder *raw = r.get();
    loop.defer(*raw);
    loop.retire(std::move(r));
    CHECK_FALSE(destroyed);
    loop.runOnce(0);
    CHECK(destroyed);
}

TEST_CASE("the ticker calls back periodically", "[loop]")
{
    EventLoop loop;
    int ticks = 0;
    loop.setTicker(10, [&] { ++ticks; });
    for (int i = 0; i < 200 && ticks < 3; ++i)
        loop.runOnce(1000);
    CHECK(ticks >= 3);
}

TEST_CASE("watched signals arrive through the loop", "[loop]")
{
    EventLoop loop;
    int got = 0;
    loop.watchSignals({ SIGUSR1 }, [&](int signo) { got = signo; });
    ::kill(::getpid(), SIGUSR1);
    for (int i = 0; i < 100 && got == 0; ++i)
        loop.runOnce(100);
    CHECK(got == SIGUSR1);
}

TEST_CASE("stop ends run()", "[loop]")
{
    EventLoop loop;
    struct Stopper : IoHandler {
        EventLoop &loop;
        explicit Stopper(EventLoop &l) : loop(l) {}
        void onIo(std::uint32_t) noexcept override {}
        void onResume() noexcept override { loop.stop(); }
    } stopper(loop);
    loop.defer(stopper);
    CHECK(loop.run() == 0);
    CHECK(loop.stopped());
}
