#include "common/buffer.h"

#include <cstring>
#include <string>
#include <vector>

#include "tests/catch.h"

using pisock::Buffer;

namespace {

void put(Buffer &b, const std::string &s)
{
    auto span = b.writable(s.size());
    REQUIRE(span.size() >= s.size());
    std::memcpy(span.data(), s.data(), s.size());
    b.commit(s.size());
}

} // namespace

TEST_CASE("a new buffer is empty and owns no memory", "[buffer]")
{
    Buffer b;
    CHECK(b.empty());
    CHECK(b.readable() == 0);
    CHECK(b.capacity() == 0);
}

TEST_CASE("bytes come out in the order they went in", "[buffer]")
{
    Buffer b;
    put(b, "hello ");
    CHECK(b.readable() == 6);
    put(b, "world");
    CHECK(b.readable() == 11);
    CHECK(b.view() == "hello world");
    b.consume(6);
    CHECK(b.readable() == 5);
    CHECK(b.view() == "world");
    b.consume(5);
    CHECK(b.empty());
}

TEST_CASE("consuming more than is readable empties the buffer", "[buffer]")
{
    Buffer b;
    put(b, "abc");
    b.consume(100);
    CHECK(b.empty());
    CHECK(b.readable() == 0);
}

TEST_CASE("unread bytes move to the front instead of growing", "[buffer]")
{
    Buffer b;
    put(b, std::string(3000, 'a'));
    const auto cap = b.capacity();
    b.consume(2990);
    CHECK(b.readable() == 10);
    put(b, std::string(3000, 'b'));
    CHECK(b.capacity() == cap);
    CHECK(b.readable() == 3010);
    CHECK(b.view().substr(0, 10) == std::string(10, 'a'));
    CHECK(b.view().substr(10) == std::string(3000, 'b'));
}

TEST_CASE("the buffer grows and keeps its contents", "[buffer]")
{
    Buffer b;
    std::string big;
    for (int i = 0; i < 100000; ++i)
        big.push_back(static_cast<char>('a' + i % 26));
    put(b, big.substr(0, 10));
    put(b, big.substr(10));
    CHECK(b.readable() == big.size());
    CHECK(b.view() == big);
    CHECK(b.capacity() >= big.size());
}

TEST_CASE("append refuses what would pass the cap and keeps what it has", "[buffer]")
{
    Buffer b(10);
    CHECK(b.append("12345678"));
    CHECK(b.readable() == 8);
    CHECK(b.room() == 2);
    CHECK_FALSE(b.append("abc"));
    CHECK(b.readable() == 8);
    CHECK(b.view() == "12345678");
    CHECK(b.append("90"));
    CHECK(b.readable() == 10);
    CHECK(b.writable(1).empty());
    CHECK(b.capacity() <= 4096);
}

TEST_CASE("binary bytes, NUL included, pass unchanged", "[buffer]")
{
    Buffer b;
    const std::string bin("a\0b\xff\r\n", 6);
    CHECK(b.append(bin));
    CHECK(b.readable() == 6);
    CHECK(b.view() == bin);
}

TEST_CASE("release frees an empty buffer only", "[buffer]")
{
    Buffer b;
    put(b, "x");
    b.release();
    CHECK(b.readable() == 1);
    CHECK(b.capacity() > 0);
    b.consume(1);
    b.release();
    CHECK(b.capacity() == 0);
    put(b, "again");
    CHECK(b.view() == "again");
}

TEST_CASE("swap exchanges contents but each keeps its cap", "[buffer]")
{
    Buffer a(100);
    Buffer b(Buffer::kUnlimited);
    CHECK(a.append("from a"));
    a.swap(b);
    CHECK(a.empty());
    CHECK(b.view() == "from a");
    CHECK(a.maxSize() == 100);
    CHECK(b.maxSize() == Buffer::kUnlimited);
}

TEST_CASE("setAccount moves what the buffer holds to the new account", "[buffer]")
{
    pisock::MemoryBudget budget(1024 * 1024);
    pisock::MemoryAccount first(&budget);
    pisock::MemoryAccount second(&budget);
    Buffer b;
    CHECK(b.append("held before any account"));
    b.setAccount(&first);
    CHECK(first.held() == b.cost());
    b.setAccount(&second);
    CHECK(first.held() == 0);
    CHECK(second.held() == b.cost());
    b.clear();
    b.release();
    CHECK(second.held() == 0);
    CHECK(b.append(std::string(10000, 'x'))); // grows under the account it now has
    CHECK(second.held() == b.cost());
    CHECK(b.cost() > 10000);
    b.setAccount(nullptr);
    CHECK(second.held() == 0);
}

TEST_CASE("a view taken before consume stays valid until the next write", "[buffer]")
{
    Buffer b;
    put(b, "line\n");
    const std::string_view v = b.view();
    b.consume(5);
    CHECK(b.empty());
    CHECK(v == "line\n");
}

TEST_CASE("released blocks are reused instead of allocated again", "[buffer]")
{
    Buffer a;
    CHECK(a.append("x"));
    CHECK(a.capacity() == Buffer::kMinCapacity);
    const char *block = a.data();
    a.consume(1);
    const std::size_t pooled = Buffer::pooledBlocks();
    a.release();
    CHECK(a.capacity() == 0);
    CHECK(Buffer::pooledBlocks() == pooled + 1);

    Buffer b;
    CHECK(b.append("y"));
    CHECK(b.data() == block); // the same block, from the pool
    CHECK(Buffer::pooledBlocks() == pooled);
}

TEST_CASE("capacities are power-of-two blocks and the pool stays bounded", "[buffer]")
{
    {
        std::vector<Buffer> many(1000);
        for (auto &b : many) {
            REQUIRE(b.append(std::string(5000, 'z')));
            CHECK(b.capacity() == 8192);
        }
    } // all released at once: the pool keeps a bounded number
    CHECK(Buffer::pooledBytes() <= 9 * 512 * 1024);
    Buffer big;
    REQUIRE(big.append(std::string(3 * 1024 * 1024, 'q')));
    CHECK(big.capacity() >= 3 * 1024 * 1024);
    CHECK(big.readable() == 3 * 1024 * 1024);
}

TEST_CASE("appendAll appends every part or, past the cap, nothing", "[buffer]")
{
    Buffer b(10);
    CHECK(b.appendAll({ "abc", "", "de" }));
    CHECK(b.view() == "abcde");
    CHECK_FALSE(b.appendAll({ "fgh", "ijk" }));
    CHECK(b.view() == "abcde");
    CHECK(b.appendAll({}));
    CHECK(b.appendAll({ "fgh", "ij" }));
    CHECK(b.view() == "abcdefghij");
    CHECK(b.room() == 0);
}

TEST_CASE("unread bytes can be changed in place", "[buffer]")
{
    Buffer b;
    REQUIRE(b.append("xbc"));
    b.data()[0] = 'a';
    CHECK(b.view() == "abc");
}
