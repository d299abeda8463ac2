#include "daemon/idle_list.h"

#include <memory>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

namespace {

constexpr std::uint64_t kLazy = IdleList::kLazyMs;

} // namespace

TEST_CASE("nothing expires before its timeout", "[idle]")
{
    IdleList list;
    IdleList::Node a;
    list.touch(a, 1000);
    CHECK(a.linked());
    CHECK(list.popExpired(1000, 5000) == nullptr);
    CHECK(list.popExpired(1000 + 5000, 5000) == nullptr); // activity may be up to kLazy later
    CHECK(list.popExpired(1000 + 5000 + kLazy, 5000) == &a);
    CHECK_FALSE(a.linked());
    CHECK(list.empty());
    CHECK(list.popExpired(1'000'000, 5000) == nullptr);
}

TEST_CASE("the least recently active expires first", "[idle]")
{
    IdleList list;
    IdleList::Node a, b, c;
    list.touch(a, 0);
    list.touch(b, 100);
    list.touch(c, 200);
    list.touch(a, 300); // moves to the back: more than kLazy after its last queueing
    const std::uint64_t late = 10'000;
    CHECK(list.popExpired(late, 1000) == &b);
    CHECK(list.popExpired(late, 1000) == &c);
    CHECK(list.popExpired(late, 1000) == &a);
    CHECK(list.popExpired(late, 1000) == nullptr);
}

TEST_CASE("activity within kLazyMs does not move a node, and is never lost", "[idle]")
{
    IdleList list;
    IdleList::Node a, b;
    list.touch(a, 0);
    list.touch(b, 10);
    list.touch(a, kLazy - 1); // lazy: stays in front
    // a's activity at kLazy - 1 still protects it until kLazy - 1 + timeout.
    CHECK(list.popExpired(kLazy - 1 + 1000, 1000) == nullptr);
    CHECK(list.popExpired(kLazy + 1000, 1000) == &a);
}

TEST_CASE("a busy node is never closed, however many others expire", "[idle]")
{
    IdleList list;
    std::vector<std::unique_ptr<IdleList::Node>> idle(1000);
    for (auto &n : idle) {
        n = std::make_unique<IdleList::Node>();
        list.touch(*n, 0);
    }
    IdleList::Node busy;
    std::size_t closed = 0;
    for (std::uint64_t now = 0; now <= 20'000; now += 250) {
        list.touch(busy, now);
        while (auto *n = list.popExpired(now, 5000)) {
            CHECK(n != &busy);
            ++closed;
        }
    }
    CHECK(closed == idle.size());
    CHECK(busy.linked());
}

TEST_CASE("a node unlinks itself when destroyed, and outlives its list", "[idle]")
{
    auto list = std::make_unique<IdleList>();
    IdleList::Node survivor;
    {
        IdleList::Node gone;
        list->touch(gone, 0);
        list->touch(survivor, 0);
    }
    CHECK(list->popExpired(10'000, 1000) == &survivor);
    list->touch(survivor, 20'000);
    list.reset();
    CHECK_FALSE(survivor.linked());
}
