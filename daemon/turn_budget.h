#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/units.h"

namespace pisock {

// The bytes all connections together may read in one loop turn (fairness): with a thousand
// greedy clients, a turn still ends soon and a polite client waits at most one turn. Owns two
// counters; the server owns it and every connection draws from it. Each wakeup of a connection
// gets at least kFloor (a small message is read at once, whoever came first), and more while
// the turn's bytes last; a connection that wanted more defers itself, and the deferred ones
// run again next turn.
class TurnBudget
{
public:
    static constexpr std::size_t kFloor = 4 * kKiB;
    static constexpr std::size_t kDefault = 2 * kMiB;

    explicit TurnBudget(std::size_t perTurn = kDefault) noexcept : perTurn_(perTurn) {}

    // Up to want bytes for one wakeup in loop turn `turn` (EventLoop::turn()).
    [[nodiscard]] std::size_t take(std::uint64_t turn, std::size_t want) noexcept
    {
        if (turn != turn_) {
            turn_ = turn;
            left_ = perTurn_;
        }
        const std::size_t granted = std::min(want, std::max(left_, kFloor));
        left_ -= std::min(left_, granted);
        return granted;
    }
    // What a wakeup did not use goes back to the turn.
    void giveBack(std::size_t unused) noexcept { left_ = std::min(perTurn_, left_ + unused); }

private:
    std::size_t perTurn_;
    std::size_t left_ = 0;
    std::uint64_t turn_ = static_cast<std::uint64_t>(-1);
};

} // namespace pisock
