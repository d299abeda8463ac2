#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "buffer.h"
#include "units.h"

namespace pisock {

enum class Framing { Line, Raw };

// Splits the bytes of a Buffer into messages. Owns only its scan position
// and the state of an over-long line; borrows the Buffer on each call.
//
// Line framing: a message ends at '\n'; one '\r' right before it is dropped. Raw framing:
// everything readable is one message, less one trailing "\r\n" or "\n"; the caller calls
// next() after each read so that one read is one message. Either way ending() keeps what was
// taken off, so a reply can end as the message did (raw framing in reply mode).
class LineCodec
{
public:
    enum class Result { Message, NeedMore, TooLong };

    explicit LineCodec(Framing framing = Framing::Line, std::size_t maxMessage = 64 * kKiB) noexcept
        : framing_(framing), maxMessage_(maxMessage)
    {
    }

    // Consumes the next message from in and points message at it. The view stays valid until
    // in is next written. TooLong is returned once per over-long message; its bytes, up to and
    // including the '\n' that ends it, are discarded as they arrive.
    Result next(Buffer &in, std::string_view &message) noexcept;
    // At end of input: the unterminated last line, if any, as a final message.
    std::optional<std::string_view> finish(Buffer &in) noexcept;
    // The line ending of the last message as received: "\n", "\r\n", or nothing (a raw read
    // without one, or an unterminated last line). Valid as long as the message is.
    [[nodiscard]] std::string_view ending() const noexcept { return ending_; }

    [[nodiscard]] Framing framing() const noexcept { return framing_; }
    [[nodiscard]] std::size_t maxMessage() const noexcept { return maxMessage_; }
    void setMaxMessage(std::size_t maxMessage) noexcept { maxMessage_ = maxMessage; }
    // True while the rest of an over-long line is being thrown away.
    [[nodiscard]] bool skipping() const noexcept { return skipping_; }

private:
    Result nextLine(Buffer &in, std::string_view &message) noexcept;
    Result nextRaw(Buffer &in, std::string_view &message) noexcept;

    Framing framing_;
    std::size_t maxMessage_;
    std::string_view ending_;
    std::size_t scanned_ = 0; // bytes at the head known to hold no '\n'
    bool skipping_ = false;
};

} // namespace pisock
