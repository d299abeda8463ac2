#pragma once

#include "common/buffer.h"
#include "common/unique_fd.h"
#include "options.h"
#include "status.h"
#include "tls.h"

namespace pisock {

class Exchange;

// One connection to the server, ready for an Exchange: connected, through TLS (--tls, or a
// wss:// URL) and past the WebSocket handshake (ws://, wss://). Owns the TLS relay, which
// must outlive the Exchange the socket goes to: declare the Session before the Exchange.
struct Session {
    TlsClient tls;
    UniqueFd socket; // the Exchange's; invalid once taken
    Buffer leftover; // what a WebSocket server sent right after its 101

    // Connects as options say; false, with failure filled, if it could not.
    bool open(const ClientOptions &options, Failure &failure);
    // Gives exchange what the handshake left over, for a ws:// or wss:// session.
    void start(Exchange &exchange, const ClientOptions &options);
};

} // namespace pisock
