#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"
#include "common/buffer.h"
#include "common/ws_decoder.h"
#include "common/ws_frame.h"
#include "status.h"

// pisock's side of a ws:// session (RFC 6455 as a client; docs/WEBSOCKET.md): the opening
// handshake over a connected socket, then masked frames out and server frames in.
namespace pisock {

// "ws://HOST[:PORT][/PATH]" (PORT 80 if not given) or "wss://..." (WebSocket over TLS, PORT
// 443 if not given, secure set): the endpoint, with webSocket set and path holding PATH ("/"
// if not given). Nothing, and error set, if text is not such a URL.
std::optional<Endpoint> parseWsUrl(std::string_view text, std::string &error);

// Sends the opening handshake on fd (connected, non-blocking) for endpoint and waits up to
// timeout (none: as long as it takes) for the 101. Bytes the server sent after it stay in in.
// False, with failure filled, if the server refused or the connection failed.
bool wsHandshake(int fd, const Endpoint &endpoint, std::optional<std::chrono::milliseconds> timeout,
                 Buffer &in, Failure &failure);

// The frames of one client session: messages out as masked frames (a fresh mask from
// getrandom() each), server frames decoded. Owns the codec state.
class WsClient
{
public:
    explicit WsClient(std::size_t maxMessage);

    bool text(Buffer &out, std::string_view message) { return encoder_.text(out, message); }
    bool binary(Buffer &out, std::string_view data) { return encoder_.binary(out, data); }
    bool pong(Buffer &out, std::string_view payload) { return encoder_.pong(out, payload); }
    bool close(Buffer &out, std::uint16_t code) { return encoder_.close(out, code); }
    ws::Event next(Buffer &in) noexcept { return decoder_.next(in); }

private:
    ws::Encoder encoder_;
    ws::Decoder decoder_;
};

} // namespace pisock
