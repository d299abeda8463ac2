#include "common/memory_budget.h"

#include <string>

#include "common/buffer.h"
#include "tests/catch.h"

using pisock::Buffer;
using pisock::MemoryAccount;
using pisock::MemoryBudget;

namespace {

constexpr std::size_t kWord = sizeof(std::size_t);

} // namespace

TEST_CASE("a block costs what malloc really uses for it", "[memory]")
{
    // glibc: a size word, rounded up to two words; from mmap(): two words and whole pages.
    CHECK(MemoryBudget::cost(1) == 4 * kWord);
    CHECK(MemoryBudget::cost(64) == 64 + 2 * kWord);
    CHECK(MemoryBudget::cost(4096) == 4096 + 2 * kWord);
    CHECK(MemoryBudget::cost(4096 - kWord) == 4096);
    CHECK(MemoryBudget::cost(128 * 1024) == 132 * 1024);
    CHECK(MemoryBudget::cost(1024 * 1024) == 1028 * 1024);
}

TEST_CASE("past three quarters of the limit only the small holders grow", "[memory]")
{
    MemoryBudget budget(1024 * 1024);
    budget.setHolders(16);
    CHECK(budget.soft() == 768 * 1024);
    CHECK(budget.share() == 16 * 1024); // the last quarter in 16 parts
    CHECK(budget.allows(500 * 1024, 200 * 1024, true));
    budget.acquired(700 * 1024);
    CHECK_FALSE(budget.pressure());
    CHECK(budget.allows(500 * 1024, 4096, true)); // still under three quarters after it
    budget.acquired(40 * 1024);
    CHECK(budget.pressure()); // within one large read of three quarters
    budget.acquired(28 * 1024);
    CHECK_FALSE(budget.allows(500 * 1024, 4096, true)); // a big holder waits
    CHECK(budget.allows(8 * 1024, 4096, true)); // a small one goes on
    CHECK(budget.allows(8 * 1024, 4096, false)); // a pooled block: no new memory
    CHECK_FALSE(budget.allows(16 * 1024, 4096, false)); // its share is full
    // Never past the limit, whoever asks.
    budget.acquired(254 * 1024);
    CHECK(budget.used() == 1022 * 1024);
    CHECK_FALSE(budget.allows(0, 4096, true));
    CHECK(budget.allows(0, 4096, false));
    CHECK_FALSE(budget.fits(4096));
    CHECK(budget.fits(2048));
    budget.released(1022 * 1024);
    CHECK(budget.used() == 0);
    CHECK(budget.peak() == 1022 * 1024);
    CHECK_FALSE(budget.pressure());
}

TEST_CASE("a share is never below 16 KiB, however many holders", "[memory]")
{
    MemoryBudget budget(4 * 1024 * 1024);
    budget.setHolders(100000);
    CHECK(budget.share() == MemoryBudget::kMinShare);
    budget.setHolders(0);
    CHECK(budget.share() == 1024 * 1024);
}

TEST_CASE("a buffer charges its blocks to its account and the heap's to the budget",
          "[memory][buffer]")
{
    Buffer::trimPool(true);
    MemoryBudget budget(64 * 1024 * 1024);
    MemoryAccount account(&budget);
    {
        Buffer b(Buffer::kUnlimited, &account);
        REQUIRE(b.append(std::string(100, 'x')));
        CHECK(b.cost() == MemoryBudget::cost(4096));
        CHECK(account.held() == b.cost());
        CHECK(budget.used() == b.cost());
        REQUIRE(b.append(
                std::string(5000, 'y'))); // grows to 8 KiB: the 4 KiB block goes to the pool
        CHECK(account.held() == MemoryBudget::cost(8192));
        CHECK(budget.used() == MemoryBudget::cost(8192) + MemoryBudget::cost(4096));
        CHECK(Buffer::pooledBytes() == 4096);
        b.consume(b.readable());
        b.release();
        CHECK(account.held() == 0);
        // Parked in the pool, still counted: it is still the process's memory.
        CHECK(budget.used() == MemoryBudget::cost(8192) + MemoryBudget::cost(4096));
        REQUIRE(b.append("again")); // from the pool: the budget does not grow
        CHECK(budget.used() == MemoryBudget::cost(8192) + MemoryBudget::cost(4096));
        CHECK(account.held() == MemoryBudget::cost(4096));
    }
    CHECK(account.held() == 0);
    // Unused for a trim period, the pool's blocks go back to the heap: first the period that
    // notices them, then the one that frees them.
    Buffer::trimPool();
    Buffer::trimPool();
    CHECK(Buffer::pooledBytes() == 0);
    CHECK(budget.used() == 0);
    CHECK(budget.peak() == MemoryBudget::cost(8192) + MemoryBudget::cost(4096));
}

TEST_CASE("a read the budget refuses gets no block, and nothing is allocated", "[memory][buffer]")
{
    Buffer::trimPool(true);
    MemoryBudget budget(1024 * 1024);
    budget.setHolders(1);
    budget.acquired(1000 * 1024); // others hold almost everything
    MemoryAccount account(&budget);
    Buffer b(Buffer::kUnlimited, &account);
    CHECK(b.writable(64 * 1024, Buffer::Growth::IfBudgetAllows).empty());
    CHECK(b.capacity() == 0);
    CHECK(budget.used() == 1000 * 1024);
    CHECK_FALSE(account.outOfMemory()); // refused, not failed: it waits
    // What must be written (a reply to input already taken) is not refused by the budget.
    CHECK_FALSE(b.writable(64 * 1024).empty());
    CHECK(budget.used() == 1000 * 1024 + MemoryBudget::cost(64 * 1024));
    b.clear();
    b.release();
    Buffer::trimPool(true);
    budget.released(1000 * 1024);
    CHECK(budget.used() == 0);
}

TEST_CASE("past 1 MiB a buffer grows by an eighth, not by doubling", "[memory][buffer]")
{
    Buffer b;
    REQUIRE(b.append(std::string(1024 * 1024, 'a')));
    CHECK(b.capacity() == 1024 * 1024);
    REQUIRE(b.append("b"));
    CHECK(b.capacity() == 1024 * 1024 + 128 * 1024);
    CHECK(b.readable() == 1024 * 1024 + 1);
    CHECK(b.view().back() == 'b');
}

TEST_CASE("a buffer whose heap block cannot be had is empty and says so", "[memory][buffer]")
{
    MemoryAccount account;
    Buffer b(Buffer::kUnlimited, &account);
    // More than any address space holds: operator new fails, nothing throws.
    CHECK(b.writable(static_cast<std::size_t>(-1) / 2).empty());
    CHECK(account.outOfMemory());
    CHECK(b.append(std::string(10, 'x'))); // smaller blocks still come
    CHECK(b.view() == std::string(10, 'x'));
}
