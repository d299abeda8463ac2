#include "idle_list.h"

namespace pisock {

void IdleList::Node::unlink() noexcept
{
    if (!next_)
        return;
    prev_->next_ = next_;
    next_->prev_ = prev_;
    prev_ = next_ = nullptr;
}

IdleList::IdleList() noexcept
{
    head_.prev_ = head_.next_ = &head_;
}

IdleList::~IdleList()
{
    // Nodes may outlive the list: leave them unlinked, not pointing at a dead sentinel.
    while (!empty())
        head_.next_->unlink();
    head_.prev_ = head_.next_ = nullptr;
}

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
    node.prev_ = head_.prev_;
    node.next_ = &head_;
    head_.prev_->next_ = &node;
    head_.prev_ = &node;
}

IdleList::Node *IdleList::popExpired(std::uint64_t now, std::uint64_t timeoutMs) noexcept
{
    if (empty())
        return nullptr;
    Node *oldest = head_.next_;
    // Its last activity may be up to kLazyMs after its stamp: wait that long too.
    if (now < oldest->stamp_ + kLazyMs + timeoutMs)
        return nullptr;
    oldest->unlink();
    return oldest;
}

} // namespace pisock
