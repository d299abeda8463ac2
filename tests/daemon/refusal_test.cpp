#include "daemon/refusal.h"

#include <string>
#include <sys/socket.h>
#include <vector>

#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;
using pisock::test::SocketPair;

namespace {

// What the client can read now; eof set once the other side has sent FIN.
std::string readNow(int fd, bool &eof)
{
    std::string got;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            got.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        eof = n == 0;
        return got;
    }
}

} // namespace

TEST_CASE("a refused client reads the line, then EOF, and may still send meanwhile", "[refusal]")
{
    EventLoop loop;
    RefusalQueue queue(loop, 2000);
    SocketPair p;
    const std::string early(10000, 'x');
    REQUIRE(::send(p.peer.get(), early.data(), early.size(), 0) ==
            static_cast<ssize_t>(early.size()));
    queue.refuse(std::move(p.subject), kBusyLine);
    CHECK(queue.open() == 1);
    loop.runOnce(0);
    bool eof = false;
    CHECK(readNow(p.peer.get(), eof) == kBusyLine);
    CHECK(eof);
    // Still held: sending more meets no reset, it is discarded.
    REQUIRE(::send(p.peer.get(), "late\n", 5, MSG_NOSIGNAL) == 5);
    loop.runOnce(0);
    CHECK(queue.open() == 1);
    // The client closes: the queue lets go without waiting for the deadline.
    p.peer.reset();
    for (int i = 0; i < 10 && queue.open() > 0; ++i)
        loop.runOnce(10);
    CHECK(queue.open() == 0);
}

TEST_CASE("a refused client that never closes is let go at the deadline", "[refusal]")
{
    EventLoop loop;
    RefusalQueue queue(loop, 0);
    SocketPair p;
    queue.refuse(std::move(p.subject), kBusyLine);
    loop.runOnce(0);
    CHECK(queue.open() == 1);
    loop.updateTime();
    queue.expire(loop.now());
    CHECK(queue.open() == 0);
    loop.runOnce(0); // destroys the retired handler
    bool eof = false;
    CHECK(readNow(p.peer.get(), eof) == kBusyLine);
    CHECK(eof);
}

TEST_CASE("past kMaxOpen refused clients are closed at once, still told why", "[refusal]")
{
    EventLoop loop;
    RefusalQueue queue(loop, 60000);
    std::vector<SocketPair> pairs(RefusalQueue::kMaxOpen + 1);
    for (auto &p : pairs)
        queue.refuse(std::move(p.subject), kBusyLine);
    CHECK(queue.open() == RefusalQueue::kMaxOpen);
    bool eof = false;
    CHECK(readNow(pairs.back().peer.get(), eof) == kBusyLine);
    CHECK(eof);
}
