#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "buffer.h"

// The WebSocket protocol (RFC 6455) as pisockd speaks it, shared by the daemon (server side)
// and pisock (client side): frame layout and encoder here, the decoder in ws_decoder.h, the
// HTTP handshake in ws_handshake.h. What is accepted and refused: docs/WEBSOCKET.md.
namespace pisock::ws {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xa,
};

// Which end of the connection a codec works for. A server receives masked frames and sends
// unmasked ones; a client the other way round.
enum class Role { Server, Client };

// Close status codes (RFC 6455 7.4.1) that pisockd sends or interprets.
enum CloseCode : std::uint16_t {
    kCloseNormal = 1000,
    kCloseGoingAway = 1001,
    kCloseProtocolError = 1002,
    kCloseUnsupportedData = 1003,
    kCloseNoStatus = 1005, // never sent: a Close frame without a code
    kCloseAbnormal = 1006, // never sent: the connection ended without a Close frame
    kCloseInvalidData = 1007, // e.g. invalid UTF-8 in a text message
    kClosePolicy = 1008,
    kCloseTooBig = 1009,
    kCloseInternalError = 1011,
};

// Frame header sizes: 2 bytes, then 2 or 8 bytes of extended length, then 4 of mask.
inline constexpr std::size_t kMinHeader = 2;
inline constexpr std::size_t kMaxHeader = 14;
// Control frames (Close, Ping, Pong) carry at most this much and are never fragmented.
inline constexpr std::size_t kMaxControlPayload = 125;
// A Close reason fits beside its 2-byte code.
inline constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

using Mask = std::array<std::uint8_t, 4>;

[[nodiscard]] constexpr bool isControl(Opcode op) noexcept
{
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

// True for a code that may appear in a received Close frame: 1000-1003, 1007-1014 and
// 3000-4999. 1004 and 1016-2999 are reserved, 1005, 1006 and 1015 must never be sent.
[[nodiscard]] bool isValidCloseCode(std::uint16_t code) noexcept;

// XORs n bytes at data with mask, the first byte taking mask[offset % 4]: offset is the
// position of data within its frame's payload. Masking and unmasking are the same operation.
void applyMask(char *data, std::size_t n, const Mask &mask, std::size_t offset = 0) noexcept;

// Size of the header of a frame carrying length bytes, masked or not.
[[nodiscard]] std::size_t headerSize(std::uint64_t length, bool masked) noexcept;
// Writes the header of a frame carrying length bytes (the shortest length encoding) to out,
// which has room for kMaxHeader bytes; returns its size. mask: nullptr for an unmasked
// (server) frame; a masked frame's payload must then be masked with applyMask().
std::size_t writeHeader(char *out, Opcode op, std::uint64_t length, bool fin = true,
                        const Mask *mask = nullptr) noexcept;

// Writes whole frames into a Buffer: unmasked for a server, masked for a client, each client
// frame with a fresh mask from the caller's random source. Owns only that source.
class Encoder
{
public:
    // Four unpredictable bytes per call (RFC 6455 5.3), e.g. from getrandom().
    using MaskSource = std::function<Mask()>;

    // Server side: frames go out unmasked.
    Encoder() = default;
    // Client side: every frame masked with a mask from random.
    explicit Encoder(MaskSource random) : random_(std::move(random)) {}

    [[nodiscard]] bool masks() const noexcept { return static_cast<bool>(random_); }

    // Appends one frame whose payload is the parts one after the other, without joining them
    // first (a reply is its prefix and the message). Continuation frames and fin = false build
    // a fragmented message. False, and nothing appended, if out's cap would be passed, memory
    // is short, or a control frame's payload is over kMaxControlPayload.
    bool frame(Buffer &out, Opcode op, std::initializer_list<std::string_view> parts,
               bool fin = true) noexcept;
    bool text(Buffer &out, std::string_view payload) noexcept
    {
        return frame(out, Opcode::Text, { payload });
    }
    bool binary(Buffer &out, std::string_view payload) noexcept
    {
        return frame(out, Opcode::Binary, { payload });
    }
    bool ping(Buffer &out, std::string_view payload = {}) noexcept
    {
        return frame(out, Opcode::Ping, { payload });
    }
    bool pong(Buffer &out, std::string_view payload) noexcept
    {
        return frame(out, Opcode::Pong, { payload });
    }
    // A Close frame with code and reason; a reason over kMaxCloseReason bytes is cut at a
    // UTF-8 character boundary. code kCloseNoStatus sends a Close frame with no payload.
    bool close(Buffer &out, std::uint16_t code, std::string_view reason = {}) noexcept;

private:
    MaskSource random_;
};

} // namespace pisock::ws
