#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "acl.h"
#include "common/address.h"
#include "common/line_codec.h"
#include "common/units.h"
#include "listen_address.h"
#include "log.h"

namespace pisock {

enum class Mode { Reply, Echo, Broadcast };

// "reply", "echo", "broadcast": as --mode spells them.
constexpr std::string_view modeName(Mode mode) noexcept
{
    switch (mode) {
    case Mode::Reply:
        return "reply";
    case Mode::Echo:
        return "echo";
    case Mode::Broadcast:
        return "broadcast";
    }
    return "unknown";
}

// Broadcast mode: what happens to a client past its output high-water mark.
enum class SlowClient { Drop, Disconnect };

// Where `pisockd --stats` finds the daemon: the unit's RuntimeDirectory.
inline constexpr const char *kDefaultControlSocket = "/run/pisockd/control.sock";

// Everything the options and the configuration file decide. Plain values: copied freely.
struct Settings {
    Mode mode = Mode::Reply;
    Framing framing = Framing::Line;
    std::string replyPrefix = "server rec: ";
    std::size_t maxMessage = 64 * kKiB;
    std::vector<ListenAddress> listen; // empty: [::]:8888, dual-stack
    std::size_t maxConnections = 1024;
    std::size_t maxPerHost = 256; // connections one address (unix: one user) may hold; 0: any
    std::size_t memoryLimit = 64 * kMiB; // buffers, queues and message blocks, real bytes
    std::size_t highWater = kMiB; // pending output that pauses reading
    std::size_t lowWater = 256 * kKiB; // pending output that resumes it
    unsigned shutdownTimeoutSec = 5;
    log::Level logLevel = log::Level::Info;
    unsigned logRate = 20; // lines per second about one peer host; 0: no limit
    unsigned idleTimeoutSec = 300; // 0: never
    unsigned keepaliveSec = 60; // TCP keepalive idle time; 0: off
    std::vector<Cidr> allow; // empty (and no allowLan): every peer not denied
    bool allowLan = false; // `allow = lan`: the subnets of this machine's interfaces too
    std::vector<Cidr> deny; // wins over allow
    std::vector<Cidr> trustedProxies; // who may connect to a ",proxy" listener
    SlowClient slowClient = SlowClient::Drop;
    std::string controlSocket = kDefaultControlSocket; // "": none
    std::string metricsFile; // Prometheus text, rewritten every 15 s; "": none
    bool reusePort = false; // SO_REUSEPORT: instances share the port (pisockd@.service)
    // Broadcast mode: the room bridged to an MQTT topic (daemon/bridge.h); empty: no bridge.
    std::string bridge; // mqtt://[user@]HOST[:PORT]/TOPIC, checked by parseBridgeUrl()
    std::string bridgePasswordFile;
    std::string bridgeCaFile; // TLS (mqtts://): the broker's CA; empty: the system's CAs
    std::string nodeName; // how other daemons name this one; empty: the host name
    // ws listeners: browser origins allowed beside the page's own ("*": any), and the page.
    std::vector<std::string> wsOrigins;
    bool wsPage = true;
    bool fromFile = false; // a configuration file was read: a reload needs one too
};

} // namespace pisock
