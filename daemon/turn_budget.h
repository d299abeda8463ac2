#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/units.h"

namespace pisock {

// The bytes all connections together may read in one loop turn (fairness): with a thousand
// greedy clients, a turn still ends soon and a polite client waits at most about one turn.
// Owns two counters; the server owns it and every connection draws from it. A light wakeup
// (a connection the budget has not cut short since it last emptied its socket) gets at least
// kFloor, so a small message is read at once whoever came first, and more while the turn's
// bytes last. A heavy one (cut short before, and still behind) gets only what the turn has
// left, possibly nothing: it waits in the loop's deferred rotation (EventLoop::deferHeavy()),
// so a thousand of them cost a turn no more than perTurn bytes.
class TurnBudget
{
public:
    static constexpr std::size_t kFloor = 4 * kKiB;
    static constexpr std::size_t kDefault = 2 * kMiB;

    enum class Wakeup { Light, Heavy };

    explicit TurnBudget(std::size_t perTurn = kDefault) noexcept : perTurn_(perTurn) {}

    // Up to want bytes for one wakeup in loop turn `turn` (EventLoop::turn()).
    [[nodiscard]] std::size_t take(std::uint64_t turn, std::size_t want, Wakeup wakeup) noexcept
    {
        if (turn != turn_) {
            turn_ = turn;
            left_ = perTurn_;
        }
        const std::size_t floor = wakeup == Wakeup::Light ? kFloor : 0;
        const std::size_t granted = std::min(want, std::max(left_, floor));
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
