#pragma once

#include <cstdint>

#include "common/intrusive_list.h"

namespace pisock {

// The idle timeout's bookkeeping: an IntrusiveList of nodes in the order of their last
// activity. It owns nothing; a node unlinks itself when destroyed.
//
// Cost: touch() is O(1) and usually only a comparison, since a node is moved to the back at
// most once per kLazyMs however often it is active; popExpired() looks at the front only.
// Nothing scans all connections, and nothing allocates.
class IdleList
{
public:
    // A node's activity is known to within kLazyMs: it is closed between timeout and
    // timeout + kLazyMs (+ one tick of the caller) after its last activity, never before.
    static constexpr std::uint64_t kLazyMs = 250;

    class Node : public ListHook
    {
    private:
        friend class IdleList;
        std::uint64_t stamp_ = 0; // when it was last queued; its activity is in [stamp, +kLazyMs)
    };

    // Records activity at now (monotonic ms): links the node, or moves it to the back.
    void touch(Node &node, std::uint64_t now) noexcept;
    // Unlinks and returns the least recently active node if it has been idle for timeoutMs or
    // more; nullptr otherwise. Call until nullptr.
    Node *popExpired(std::uint64_t now, std::uint64_t timeoutMs) noexcept;
    [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }

private:
    IntrusiveList<Node> nodes_; // the front is the least recently active
};

} // namespace pisock
