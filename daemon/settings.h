#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "acl.h"
#include "common/address.h"
#include "common/line_codec.h"
#include "common/units.h"
#include "log.h"

namespace pisock {

enum class Mode { Reply, Echo, Broadcast };

// Broadcast mode: what happens to a client past its output high-water mark.
enum class SlowClient { Drop, Disconnect };

// Everything the options and the configuration file decide. Plain values: copied freely.
struct Settings {
    Mode mode = Mode::Reply;
    Framing framing = Framing::Line;
    std::string replyPrefix = "server rec: ";
    std::size_t maxMessage = 64 * kKiB;
    std::vector<Endpoint> listen; // empty: [::]:8888, dual-stack
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
    std::vector<Cidr> allow; // empty: every peer not denied
    std::vector<Cidr> deny; // wins over allow
    SlowClient slowClient = SlowClient::Drop;
    // ws listeners: browser origins allowed beside the page's own ("*": any), and the page.
    std::vector<std::string> wsOrigins;
    bool wsPage = true;
    bool fromFile = false; // a configuration file was read: a reload needs one too
};

} // namespace pisock
