#include "daemon/output_queue.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <vector>

#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;

namespace {

ChunkRef makeChunk(const std::string &text)
{
    ChunkRef c(Chunk::create(text.size()));
    REQUIRE(c);
    std::memcpy(c->data(), text.data(), text.size());
    return c;
}

// Everything the queue would send, in order, as one string.
std::string pending(const OutputQueue &q, std::size_t maxIov = 1024)
{
    std::vector<iovec> iov(maxIov);
    std::size_t bytes = 0;
    const std::size_t n = q.gather(iov.data(), iov.size(), bytes);
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out.append(static_cast<const char *>(iov[i].iov_base), iov[i].iov_len);
    CHECK(out.size() == bytes);
    return out;
}

} // namespace

TEST_CASE("own bytes alone are one iovec", "[output]")
{
    OutputQueue q;
    CHECK(q.empty());
    q.bytes().append("hello\n");
    CHECK(q.size() == 6);
    iovec iov[4];
    std::size_t bytes = 0;
    CHECK(q.gather(iov, 4, bytes) == 1);
    CHECK(bytes == 6);
    q.consume(2);
    CHECK(pending(q) == "llo\n");
    q.consume(4);
    CHECK(q.empty());
}

TEST_CASE("chunks and own bytes go out in the order they were queued", "[output]")
{
    OutputQueue q;
    ChunkRef a = makeChunk("a: one\n");
    ChunkRef b = makeChunk("b: two\n");
    q.bytes().append("own 1\n");
    q.share(*a);
    q.share(*b);
    q.bytes().append("own 2\n");
    q.share(*a);
    q.bytes().append("own 3\n");
    CHECK(q.chunks() == 3);
    CHECK(a->refs() == 3);
    CHECK(b->refs() == 2);
    const std::string want = "own 1\na: one\nb: two\nown 2\na: one\nown 3\n";
    CHECK(q.size() == want.size());
    CHECK(pending(q) == want);

    // Sent in odd pieces: what is left is always the tail, and chunks go once sent.
    std::size_t sent = 0;
    for (std::size_t step : { 3, 5, 1, 6, 7, 2, 100 }) {
        const std::size_t n = std::min(step, want.size() - sent);
        q.consume(n);
        sent += n;
        CHECK(pending(q) == want.substr(sent));
        CHECK(q.size() == want.size() - sent);
    }
    CHECK(q.empty());
    CHECK(q.chunks() == 0);
    CHECK(a->refs() == 1);
    CHECK(b->refs() == 1);
}

TEST_CASE("gather stops at the iovec limit and says how many bytes it covers", "[output]")
{
    OutputQueue q;
    ChunkRef c = makeChunk("xy");
    for (int i = 0; i < 10; ++i)
        q.share(*c);
    q.bytes().append("end");
    iovec iov[4];
    std::size_t bytes = 0;
    CHECK(q.gather(iov, 4, bytes) == 4);
    CHECK(bytes == 8);
    CHECK(pending(q, 64) == "xyxyxyxyxyxyxyxyxyxyend");
}

TEST_CASE("the ring grows past its first size and keeps the order", "[output]")
{
    OutputQueue q;
    std::vector<ChunkRef> chunks;
    std::string want;
    for (int i = 0; i < 1000; ++i) {
        chunks.push_back(makeChunk(std::to_string(i) + "\n"));
        q.share(*chunks.back());
        want += std::to_string(i) + "\n";
        if (i % 100 == 0) {
            q.bytes().append("own\n");
            want += "own\n";
        }
        if (i % 7 == 0) { // send some while queueing: the ring wraps
            const std::string before = pending(q);
            q.consume(3);
            want.erase(0, 3);
            CHECK(pending(q) == before.substr(3));
        }
    }
    CHECK(pending(q, 2048) == want);
    q.consume(q.size());
    CHECK(q.empty());
    q.release();
    for (auto &c : chunks)
        CHECK(c->refs() == 1);
}

TEST_CASE("clear drops every reference", "[output]")
{
    const std::size_t live = Chunk::live();
    {
        ChunkRef c = makeChunk("shared\n");
        OutputQueue q;
        q.share(*c);
        q.bytes().append("own");
        q.share(*c);
        CHECK(c->refs() == 3);
        q.clear();
        CHECK(q.empty());
        CHECK(c->refs() == 1);
        q.share(*c); // a queue destroyed with chunks queued releases them too
    }
    CHECK(Chunk::live() == live);
}

TEST_CASE("one sendmsg over a socketpair carries own bytes and chunks in order", "[output]")
{
    const test::SocketPair pair;
    OutputQueue q;
    ChunkRef c = makeChunk("peer: hi\n");
    q.share(*c);
    q.bytes().append("error: 3 messages dropped\n");
    q.share(*c);
    iovec iov[8];
    std::size_t bytes = 0;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = q.gather(iov, 8, bytes);
    CHECK(msg.msg_iovlen == 3);
    REQUIRE(::sendmsg(pair.subject.get(), &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes));
    q.consume(bytes);
    CHECK(q.empty());
    char buf[128];
    const ssize_t n = ::recv(pair.peer.get(), buf, sizeof(buf), 0);
    CHECK(std::string(buf, static_cast<std::size_t>(n)) ==
          "peer: hi\nerror: 3 messages dropped\npeer: hi\n");
}

TEST_CASE("the queue is charged for its buffer, its ring and whole chunks", "[output_queue]")
{
    Buffer::trimPool(true);
    MemoryBudget budget;
    MemoryAccount account(&budget);
    ChunkRef chunk = makeChunk("hello\n"); // 6 bytes in a 64-byte block, header included
    CHECK(chunk->cost() == MemoryBudget::cost(64));
    {
        OutputQueue q(&account);
        CHECK(q.cost() == 0);
        CHECK(q.costToShare(*chunk) == chunk->cost() + MemoryBudget::cost(16 * sizeof(void *)));
        REQUIRE(q.share(*chunk));
        const std::size_t ring = MemoryBudget::cost(16 * sizeof(std::uintptr_t));
        CHECK(q.cost() == ring + chunk->cost());
        CHECK(account.held() == q.cost());
        CHECK(budget.used() == ring); // the chunk's block is counted once, where it was made
        REQUIRE(q.bytes().append("own"));
        CHECK(q.cost() == ring + chunk->cost() + MemoryBudget::cost(4096));
        q.consume(q.size());
        CHECK(q.chunks() == 0);
        q.release();
        CHECK(q.cost() == ring); // a small ring is kept
        CHECK(account.held() == ring);
    }
    CHECK(account.held() == 0);
    CHECK(budget.used() == MemoryBudget::cost(4096)); // the buffer's block, in the pool
    Buffer::trimPool(true);
    CHECK(budget.used() == 0);
}
