#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pisock {

// Where the MQTT bridge goes: bridge = mqtt://[user@]HOST[:PORT]/TOPIC, or mqtts:// for TLS.
// Pure parsing, no I/O: the options check it, the bridge (daemon/mqtt_bridge.cpp) uses it.
struct BridgeUrl {
    bool tls = false; // mqtts://
    std::string user; // empty: anonymous
    std::string host; // a name, or an address without brackets
    std::uint16_t port = 1883; // 8883 for mqtts://
    std::string topic; // the room's base topic: TOPIC/NODE carries each daemon's messages
};

// The URL, or nullopt and why not in error (one sentence, no value quoted).
std::optional<BridgeUrl> parseBridgeUrl(std::string_view text, std::string &error);

// A node name: 1 to 64 bytes of letters, digits, '.', '_' and '-' (one MQTT topic level that
// needs no escaping anywhere). "" when valid, otherwise why not.
std::string nodeNameProblem(std::string_view name);
// The host name made into a node name: other bytes become '-', cut at 64 bytes; "pisockd"
// when nothing is left.
std::string defaultNodeName(std::string_view hostName);

} // namespace pisock
