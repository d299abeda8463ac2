#include "daemon/turn_budget.h"

#include "tests/catch.h"

using pisock::TurnBudget;

TEST_CASE("connections share one turn's bytes and each still gets a small read", "[turn_budget]")
{
    TurnBudget turn(100 * 1024);
    CHECK(turn.take(1, 64 * 1024) == 64 * 1024);
    CHECK(turn.take(1, 64 * 1024) == 36 * 1024); // what is left
    CHECK(turn.take(1, 64 * 1024) == TurnBudget::kFloor); // past it: a small read only
    CHECK(turn.take(1, 100) == 100);
    turn.giveBack(20 * 1024); // a wakeup that read less than it was given
    CHECK(turn.take(1, 64 * 1024) == 20 * 1024);
    // A new loop turn: the whole budget again.
    CHECK(turn.take(2, 64 * 1024) == 64 * 1024);
    CHECK(turn.take(2, 64 * 1024) == 36 * 1024);
}

TEST_CASE("what is given back never makes a turn bigger than its budget", "[turn_budget]")
{
    TurnBudget turn(8 * 1024);
    CHECK(turn.take(5, 64 * 1024) == 8 * 1024);
    turn.giveBack(64 * 1024);
    CHECK(turn.take(5, 64 * 1024) == 8 * 1024);
}
