#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broadcast.h"
#include "event_loop.h"
#include "settings.h"

// The broadcast room joined to an MQTT topic through a broker (bridge = mqtt://...): the
// interface the server sees. The bridge itself is daemon/mqtt_bridge.cpp (libmosquitto), or
// daemon/mqtt_bridge_off.cpp when pisockd is built with -Dmqtt=disabled. docs/MQTT.md has the
// topic layout, the payload and the decisions (QoS 0, No Local, what an outage does).

namespace pisock {

// One bridge per daemon, to one broker and one topic; driven by the daemon's loop (its socket
// is one more fd in epoll, its timers come from the server's tick). Never throws once started.
class Bridge
{
public:
    virtual ~Bridge() = default;
    // The server's tick (a few times a second): retries, keepalive, connect and name timeouts.
    virtual void tick() noexcept = 0;
    // For STATUS= (systemctl status): "bridge up: ...", "bridge down for 12 s (why), retrying".
    [[nodiscard]] virtual std::string status() const = 0;
    // The daemon stops: a DISCONNECT to the broker if the socket takes it; nothing more is
    // bridged.
    virtual void stop() noexcept = 0;
};

// Starts settings.bridge for hub's room: reads the password, connects in the background and
// keeps retrying. Throws OptionError(78) for a password file it cannot use, or when pisockd
// was built without MQTT.
std::unique_ptr<Bridge> startBridge(EventLoop &loop, BroadcastHub &hub, const Settings &settings);

// pisockd --check: connects to the broker as the daemon would and waits up to timeoutMs for
// its answer. Returns "" and fills ok with a sentence when the broker accepted us; otherwise
// the problem, one sentence. Throws OptionError(78) as startBridge() does.
std::string checkBridge(const Settings &settings, std::string &ok, unsigned timeoutMs);

// The password: the first line of path, without its line end. A path without '/' names a
// systemd credential ($CREDENTIALS_DIRECTORY/NAME, LoadCredential=). The file must not be
// readable or writable by group or others. Throws OptionError(78) saying why not.
std::string readBridgePassword(const std::string &path);

// settings.nodeName, or the host name made into one (defaultNodeName()).
std::string nodeNameOf(const Settings &settings);

} // namespace pisock
