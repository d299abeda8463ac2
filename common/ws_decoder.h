#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "buffer.h"
#include "units.h"
#include "utf8.h"
#include "ws_frame.h"

namespace pisock::ws {

// One thing the decoder found in its input.
struct Event {
    enum class Kind {
        NeedMore, // nothing whole yet: read more
        Text, // a whole text message (valid UTF-8) in payload
        Binary, // a whole binary message in payload
        Ping, // answer with a Pong carrying payload
        Pong,
        Close, // the peer's Close: code (kCloseNoStatus if it gave none) and reason in payload
        Error, // the peer broke the protocol: send a Close with code, then close
    };
    Kind kind = Kind::NeedMore;
    std::string_view payload;
    std::uint16_t code = 0;
    const char *reason = ""; // Error: what was wrong, one line without the code
};

// Turns the bytes a peer sends into whole messages and control events (RFC 6455 section 5),
// checking every rule: masking by role, length encodings, the message size limit,
// fragmentation, control frames, close codes and UTF-8 in text. Owns the state of the frame
// at the head of the input and the pieces of a fragmented message; borrows the input Buffer
// on each call.
//
// A frame is decoded in place: its payload is unmasked and checked as its bytes arrive, and
// the frame is consumed only once whole, so a message sent in one frame comes out as a view of
// the input, without a copy. Only fragmented messages are gathered in a buffer of the
// decoder's own. Between calls the caller may append to the input but nothing else; the input
// must be able to hold max(maxMessage, kMaxControlPayload) + kMaxHeader bytes.
class Decoder
{
public:
    // role: Role::Server decodes what a client sends (masked frames), Role::Client what a
    // server sends (unmasked frames).
    explicit Decoder(Role role, std::size_t maxMessage = 64 * kKiB) noexcept
        : role_(role), maxMessage_(maxMessage)
    {
    }

    // Decodes from the head of in until something whole is found. The payload view stays
    // valid until the next call or until in is next written. After a Close or an Error the
    // decoder is done: later calls discard their input and return NeedMore.
    Event next(Buffer &in) noexcept;

    [[nodiscard]] std::size_t maxMessage() const noexcept { return maxMessage_; }
    // Applies from the next frame on.
    void setMaxMessage(std::size_t maxMessage) noexcept { maxMessage_ = maxMessage; }
    // A Close or an Error came: nothing more is decoded.
    [[nodiscard]] bool done() const noexcept { return done_; }
    // Bytes held for a fragmented message (the capacity of its buffer; 0 when none is open).
    [[nodiscard]] std::size_t held() const noexcept { return message_.capacity(); }
    // Charges the fragmented message's buffer to account (a connection's, in a memory budget).
    void setAccount(MemoryAccount *account) noexcept { message_.setAccount(account); }

private:
    enum class Header { Complete, NeedMore, Failed };

    Header readHeader(const Buffer &in, Event &error) noexcept;
    bool checkHeader(std::size_t extended, std::uint64_t length, Event &error) noexcept;
    Event onFrame(std::string_view payload) noexcept;
    Event onClose(std::string_view payload) noexcept;
    bool gather(std::string_view payload, Event &error) noexcept;
    Event fail(std::uint16_t code, const char *reason) noexcept;
    [[nodiscard]] bool isTextPayload() const noexcept;

    Role role_;
    std::size_t maxMessage_;
    bool done_ = false;

    // The frame at the head of the input, once its header is whole.
    bool haveHeader_ = false;
    Opcode op_ = Opcode::Continuation;
    bool fin_ = false;
    bool masked_ = false;
    Mask mask_{};
    std::size_t headerSize_ = 0;
    std::size_t length_ = 0;
    std::size_t checked_ = 0; // payload bytes unmasked and UTF-8-checked in place

    // The fragmented message, from its first frame to the one with FIN.
    bool open_ = false;
    Opcode messageOp_ = Opcode::Binary;
    Buffer message_;
    bool delivered_ = false; // message_ was handed out: empty it on the next call
    Utf8Validator utf8_; // the text message being received
};

} // namespace pisock::ws
