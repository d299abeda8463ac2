#include "line_codec.h"

#include <cstring>

namespace pisock {

namespace {

std::string_view dropCr(std::string_view s) noexcept
{
    if (!s.empty() && s.back() == '\r')
        s.remove_suffix(1);
    return s;
}

// Splits "line\r\n" into "line" and "\r\n"; a chunk without a final '\n' has no ending.
std::string_view splitEnding(std::string_view chunk, std::string_view &ending) noexcept
{
    ending = {};
    if (chunk.empty() || chunk.back() != '\n')
        return chunk;
    const std::string_view body = dropCr(chunk.substr(0, chunk.size() - 1));
    ending = chunk.substr(body.size());
    return body;
}

} // namespace

LineCodec::Result LineCodec::next(Buffer &in, std::string_view &message) noexcept
{
    return framing_ == Framing::Line ? nextLine(in, message) : nextRaw(in, message);
}

LineCodec::Result LineCodec::nextLine(Buffer &in, std::string_view &message) noexcept
{
    for (;;) {
        const char *base = in.data();
        const std::size_t size = in.readable();
        const void *nl = scanned_ < size ? std::memchr(base + scanned_, '\n', size - scanned_)
                                         : nullptr;
        if (!nl) {
            scanned_ = size;
            if (skipping_) {
                in.consume(size);
                scanned_ = 0;
                return Result::NeedMore;
            }
            // A pending line may end in the '\r' of a "\r\n" not yet arrived.
            const bool pendingCr = size > 0 && base[size - 1] == '\r';
            if (size > maxMessage_ + (pendingCr ? 1 : 0)) {
                in.consume(size);
                scanned_ = 0;
                skipping_ = true;
                return Result::TooLong;
            }
            return Result::NeedMore;
        }

        const auto end = static_cast<std::size_t>(static_cast<const char *>(nl) - base);
        const std::string_view line = splitEnding({ base, end + 1 }, ending_);
        in.consume(end + 1);
        scanned_ = 0;
        if (skipping_) {
            skipping_ = false; // The tail of an over-long line: already answered.
            continue;
        }
        if (line.size() > maxMessage_)
            return Result::TooLong;
        message = line;
        return Result::Message;
    }
}

LineCodec::Result LineCodec::nextRaw(Buffer &in, std::string_view &message) noexcept
{
    if (in.empty())
        return Result::NeedMore;
    std::string_view chunk = in.view();
    in.consume(chunk.size());
    chunk = splitEnding(chunk, ending_);
    if (chunk.size() > maxMessage_)
        return Result::TooLong;
    message = chunk;
    return Result::Message;
}

std::optional<std::string_view> LineCodec::finish(Buffer &in) noexcept
{
    std::string_view message;
    if (framing_ == Framing::Raw)
        return nextRaw(in, message) == Result::Message ? std::optional(message) : std::nullopt;

    const bool wasSkipping = skipping_;
    skipping_ = false;
    scanned_ = 0;
    ending_ = {};
    if (in.empty() || wasSkipping) {
        in.consume(in.readable());
        return std::nullopt;
    }
    const std::string_view line = dropCr(in.view());
    in.consume(in.readable());
    if (line.size() > maxMessage_)
        return std::nullopt;
    return line;
}

} // namespace pisock
