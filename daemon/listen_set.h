#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "common/unique_fd.h"
#include "event_loop.h"
#include "listen_address.h"
#include "listener.h"

namespace pisock {

// One address the daemon listens on, as the options ask for it.
struct ListenPlan {
    Endpoint endpoint;
    bool dualStack = true; // "[::]:P" takes IPv4 too, unless "0.0.0.0:P" is listed as well
    bool fallbackToIpv4 = false; // the default address: IPv4 only where IPv6 is disabled
    bool reusePort = false; // SO_REUSEPORT (TCP): instances of pisockd@.service share the port
    bool proxy = false; // ",proxy": its clients start with a PROXY header
};

// Whether a socket the service manager passed, named name (FileDescriptorName=), is a
// WebSocket listener: "ws", or a name that starts with "ws-".
[[nodiscard]] bool isWebSocketName(std::string_view name) noexcept;

// What --listen asks for: [::]:8888 when the list is empty.
std::vector<ListenPlan> listenPlan(const std::vector<ListenAddress> &addresses,
                                   bool reusePort = false);

// Opens the listening socket plan asks for. A Pi with IPv6 disabled (EAFNOSUPPORT) gets
// "0.0.0.0" on the same port for the default address, and ipv4Only says so. Throws
// std::system_error naming the address.
UniqueFd openPlanned(const ListenPlan &plan, bool &ipv4Only);

// The listening sockets: owns each Listener with the key it was opened for (the address as
// configured, or its position among the sockets systemd passed); borrows the loop, the sink
// that gets the clients and the spare descriptor for running out of them.
class ListenSet
{
public:
    ListenSet(EventLoop &loop, AcceptSink &sink, SpareFd &spare);
    ~ListenSet();
    ListenSet(const ListenSet &) = delete;
    ListenSet &operator=(const ListenSet &) = delete;

    // Takes the sockets the service manager passed, fds first..first+names.size()-1, with their
    // names ("" when unnamed); one named "proxy" is a ",proxy" listener, one named "ws" or "ws-..."
    // a ws: listener. Throws std::system_error for one that is not a listening stream socket.
    void adopt(int first, const std::vector<std::string> &names);
    // SO_REUSEPORT on the TCP sockets opened from now on (--reuse-port).
    void setReusePort(bool on) noexcept { reusePort_ = on; }
    // Opens every address; throws std::system_error naming the one that failed.
    void open(const std::vector<ListenAddress> &addresses);
    // Reload: opens the addresses that are new, then closes those no longer listed; clients
    // accepted earlier stay. All or nothing: if one cannot be opened, the ones just opened
    // are closed again and std::system_error is thrown, and the set is as it was. A listener
    // kept takes its new ",proxy" option for the clients it accepts from then on.
    void update(const std::vector<ListenAddress> &addresses);
    // Stops accepting everywhere (shutdown).
    void closeAll() noexcept;
    // Accepts what may be waiting without a new edge (after running out of descriptors).
    void retry() noexcept;

    // The sockets came from the service manager: the configuration does not choose them.
    [[nodiscard]] bool activated() const noexcept { return activated_; }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct Entry {
        std::string key; // socketKey() of the address, or "fd N" for a passed socket
        std::unique_ptr<Listener> listener;
    };

    Entry openOne(const ListenPlan &plan);
    // Logs the new listener, with a warning for an abstract unix socket.
    static void announce(const Listener &listener, const std::string &origin);
    void start(Entry entry, const std::string &origin);
    void retire(Entry &entry) noexcept;

    EventLoop &loop_;
    AcceptSink &sink_;
    SpareFd &spare_;
    std::vector<Entry> entries_;
    bool activated_ = false;
    bool reusePort_ = false;
};

} // namespace pisock
