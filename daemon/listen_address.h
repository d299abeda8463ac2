#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"

namespace pisock {

// One --listen value: where to listen, what its clients speak ("ws:" before the address:
// WebSocket, kept in endpoint.webSocket, which the client's ws:// targets use too), and the
// options after the address that say what they send first ("[::]:7000,proxy": a PROXY protocol
// header; "ws:[::]:8080,proxy": a PROXY header, then the WebSocket handshake). Plain value.
struct ListenAddress {
    Endpoint endpoint;
    bool proxy = false; // ",proxy": every connection starts with a PROXY header (v1 or v2)

    // "[::]:7000,proxy", "ws:[::]:8080", "unix:/run/pisockd.sock": as it would be written again.
    [[nodiscard]] std::string toString() const;
};

// Parses "[ws:]ADDRESS[,OPTION...]": "ws:" for a WebSocket listener ("ws:8080",
// "ws:unix:/path"), an address as parseEndpoint() reads it, then options, each
// after a comma ("proxy"). A unix socket path may itself hold commas: only a last part that
// names a known option is taken as one. On failure sets error to a short reason.
std::optional<ListenAddress> parseListenAddress(std::string_view text, std::string &error);

} // namespace pisock
