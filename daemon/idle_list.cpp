#include "idle_list.h"

namespace pisock {

void IdleList::touch(Node &node, std::uint64_t now) noexcept
{
    // Lazy: a node queued less than kLazyMs ago stays where it is; the list stays in order
    // because every node goes to the back with the latest stamp.
    if (node.linked()) {
        if (now - node.stamp_ < kLazyMs)
            return;
        node.unlink();
    }
    node.stamp_ = now;
    nodes_.pushBack(node);
}

IdleList::Node *IdleList::popExpired(std::uint64_t now, std::uint64_t timeoutMs) noexcept
{
    if (empty())
        return nullptr;
    Node &oldest = nodes_.front();
    // Its last activity may be up to kLazyMs after its stamp: wait that long too.
    if (now < oldest.stamp_ + kLazyMs + timeoutMs)
        return nullptr;
    oldest.unlink();
    return &oldest;
}

} // namespace pisock
