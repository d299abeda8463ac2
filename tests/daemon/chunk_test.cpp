#include "daemon/chunk.h"

#include <cstring>
#include <string>
#include <utility>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("a chunk starts with one reference and is freed with its last", "[chunk]")
{
    const std::size_t before = Chunk::live();
    Chunk *c = Chunk::create(5);
    REQUIRE(c);
    CHECK(c->size() == 5);
    CHECK(c->refs() == 1);
    CHECK(Chunk::live() == before + 1);
    std::memcpy(c->data(), "hello", 5);
    c->ref();
    c->ref();
    CHECK(c->refs() == 3);
    c->unref();
    c->unref();
    CHECK(c->refs() == 1);
    CHECK(std::string(c->data(), c->size()) == "hello");
    CHECK(Chunk::live() == before + 1);
    c->unref();
    CHECK(Chunk::live() == before);
}

TEST_CASE("freed chunk blocks are reused by the next chunk of their size class", "[chunk]")
{
    Chunk *a = Chunk::create(100);
    REQUIRE(a);
    const void *where = a;
    const std::size_t pooled = Chunk::pooledBlocks();
    a->unref();
    CHECK(Chunk::pooledBlocks() == pooled + 1);
    Chunk *b = Chunk::create(90); // same class (128 bytes with the header)
    REQUIRE(b);
    CHECK(static_cast<const void *>(b) == where);
    CHECK(Chunk::pooledBlocks() == pooled);
    b->unref();
}

TEST_CASE("a chunk larger than the largest class comes from the heap", "[chunk]")
{
    const std::size_t pooled = Chunk::pooledBlocks();
    Chunk *c = Chunk::create(Chunk::kMaxPooled + 1);
    REQUIRE(c);
    CHECK(c->size() == Chunk::kMaxPooled + 1);
    std::memset(c->data(), 'x', c->size());
    c->unref();
    CHECK(Chunk::pooledBlocks() == pooled); // not kept
}

TEST_CASE("ChunkRef holds one reference and moves it", "[chunk]")
{
    const std::size_t before = Chunk::live();
    {
        ChunkRef a(Chunk::create(8));
        REQUIRE(a);
        CHECK(a->refs() == 1);
        ChunkRef b(std::move(a));
        CHECK_FALSE(a);
        CHECK(b->refs() == 1);
        ChunkRef c;
        c = std::move(b);
        CHECK(c->refs() == 1);
        CHECK(Chunk::live() == before + 1);
    }
    CHECK(Chunk::live() == before);
}
