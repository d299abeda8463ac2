#pragma once

namespace pisock {

// A link in one IntrusiveList: an object derives from it (or from a class that does) to be
// listed without the list allocating. It unlinks itself when destroyed, so a listed object may
// die first. Not copyable: the neighbours point at this address.
class ListHook
{
public:
    ListHook() = default;
    ListHook(const ListHook &) = delete;
    ListHook &operator=(const ListHook &) = delete;
    ~ListHook() { unlink(); }

    // Leaves the list it is in; harmless when in none.
    void unlink() noexcept
    {
        if (!next_)
            return;
        prev_->next_ = next_;
        next_->prev_ = prev_;
        prev_ = next_ = nullptr;
    }
    [[nodiscard]] bool linked() const noexcept { return next_ != nullptr; }

private:
    template<class T> friend class IntrusiveList;
    ListHook *prev_ = nullptr;
    ListHook *next_ = nullptr;
};

// A circular, doubly linked list of T (which derives from ListHook) around a sentinel: O(1)
// push, unlink and front, no allocation. Owns nothing; the objects outliving it are left
// unlinked.
template<class T> class IntrusiveList
{
public:
    IntrusiveList() noexcept { head_.prev_ = head_.next_ = &head_; }
    ~IntrusiveList()
    {
        while (!empty())
            head_.next_->unlink();
        head_.prev_ = head_.next_ = nullptr; // the sentinel's own destructor: nothing to do
    }
    IntrusiveList(const IntrusiveList &) = delete;
    IntrusiveList &operator=(const IntrusiveList &) = delete;

    // Links item at the back (it must not be linked).
    void pushBack(T &item) noexcept
    {
        ListHook &hook = item;
        hook.prev_ = head_.prev_;
        hook.next_ = &head_;
        head_.prev_->next_ = &hook;
        head_.prev_ = &hook;
    }
    [[nodiscard]] bool empty() const noexcept { return head_.next_ == &head_; }
    // The first item; the list must not be empty.
    [[nodiscard]] T &front() noexcept { return static_cast<T &>(*head_.next_); }

    // Calls fn(T&) for each item in order; fn may unlink the item it is given, and only it.
    template<class Fn> void forEach(Fn &&fn)
    {
        for (ListHook *h = head_.next_; h != &head_;) {
            ListHook *next = h->next_;
            fn(static_cast<T &>(*h));
            h = next;
        }
    }

private:
    ListHook head_;
};

} // namespace pisock
