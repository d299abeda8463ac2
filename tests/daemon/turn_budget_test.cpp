#include "daemon/turn_budget.h"

#include "tests/catch.h"

using pisock::TurnBudget;
using Wakeup = TurnBudget::Wakeup;

TEST_CASE("connections share one turn's bytes and each light one still gets a small read",
          "[turn_budget]")
{
    TurnBudget turn(100 * 1024);
    CHECK(turn.take(1, 64 * 1024, Wakeup::Light) == 64 * 1024);
    CHECK(turn.take(1, 64 * 1024, Wakeup::Light) == 36 * 1024); // what is left
    CHECK(turn.take(1, 64 * 1024, Wakeup::Light) == TurnBudget::kFloor); // past it: a small read
    CHECK(turn.take(1, 100, Wakeup::Light) == 100);
    turn.giveBack(20 * 1024); // a wakeup that read less than it was given
    CHECK(turn.take(1, 64 * 1024, Wakeup::Light) == 20 * 1024);
    // A new loop turn: the whole budget again.
    CHECK(turn.take(2, 64 * 1024, Wakeup::Light) == 64 * 1024);
    CHECK(turn.take(2, 64 * 1024, Wakeup::Light) == 36 * 1024);
}

TEST_CASE("a heavy wakeup gets only what the turn has left, so a turn stays within its budget",
          "[turn_budget]")
{
    TurnBudget turn(100 * 1024);
    CHECK(turn.take(1, 64 * 1024, Wakeup::Heavy) == 64 * 1024);
    CHECK(turn.take(1, 64 * 1024, Wakeup::Heavy) == 36 * 1024);
    std::size_t more = 0;
    for (int i = 0; i < 1000; ++i) // a thousand greedy connections past the budget
        more += turn.take(1, 64 * 1024, Wakeup::Heavy);
    CHECK(more == 0);
    CHECK(turn.take(1, 100, Wakeup::Light) == 100); // a polite one is still read at once
    CHECK(turn.take(2, 64 * 1024, Wakeup::Heavy) == 64 * 1024); // the next turn
}

TEST_CASE("what is given back never makes a turn bigger than its budget", "[turn_budget]")
{
    TurnBudget turn(8 * 1024);
    CHECK(turn.take(5, 64 * 1024, Wakeup::Light) == 8 * 1024);
    turn.giveBack(64 * 1024);
    CHECK(turn.take(5, 64 * 1024, Wakeup::Light) == 8 * 1024);
}
